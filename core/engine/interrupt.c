/* See interrupt.h. */
#include "interrupt.h"

#include <stdio.h>
#include <string.h>

volatile sig_atomic_t nsl_interrupt_signal;
volatile sig_atomic_t nsl_interrupt_held;
void (*nsl_interrupt_rearm)(void);

int nsl_interrupted(void)
{
	return nsl_interrupt_held ? 0 : nsl_interrupt_signal;
}

void nsl_interrupt_hold(int delta)
{
	if (delta < 0 && nsl_interrupt_held == 0)
		return;
	nsl_interrupt_held += delta;
	if (nsl_interrupt_held == 0 && nsl_interrupt_signal && nsl_interrupt_rearm)
		nsl_interrupt_rearm();
}

const char *nsl_interrupt_message(void)
{
	static char msg[48];
	const char *sig = nsl_interrupt_signal ? sigabbrev_np(nsl_interrupt_signal) : NULL;

	snprintf(msg, sizeof msg, "interrupted (%s)", sig ? sig : "signal");
	return msg;
}
