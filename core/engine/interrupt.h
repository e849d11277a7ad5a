/*
 * The signal that interrupted the run, and whether it may be raised now.
 *
 * nslab's handler records the first signal in nsl_interrupt_signal (it stays
 * set: the run exits 128+N) and arms a Lua hook that raises "interrupted
 * (SIGINT)". Engine loops that block (waiting for a child, a ping deadline, a
 * sleep) return -EINTR instead of waiting on when nsl_interrupted() is true,
 * so the interruption reaches Lua and teardown starts at once.
 *
 * While nsl_interrupt_held is non-zero (teardown, a step that must create and
 * record something as one), nothing is raised and the engine's waits go on;
 * when the hold ends, nsl_interrupt_rearm (set by nslab: arms the hook again)
 * makes a pending interruption raise at the next instruction. Under the stock
 * lua5.4 nothing sets the signal and holds only count.
 */
#ifndef NSLAB_INTERRUPT_H
#define NSLAB_INTERRUPT_H

#include <signal.h>

extern volatile sig_atomic_t nsl_interrupt_signal;
extern volatile sig_atomic_t nsl_interrupt_held;
extern void (*nsl_interrupt_rearm)(void);

/* The pending signal when it may be raised now, else 0. */
int nsl_interrupted(void);

/* Holds (+1) or releases (-1) interruptions; a release that ends the last
 * hold with a signal pending calls nsl_interrupt_rearm. */
void nsl_interrupt_hold(int delta);

/* The error text of an interruption, "interrupted (INT)": the one place it
 * is made (nslab's hook and the bindings' EINTR path both raise it). */
const char *nsl_interrupt_message(void);

#endif
