/* See interrupt.h. */
#include "interrupt.h"

volatile sig_atomic_t nsl_interrupt_signal;
