/*
 * The signal that interrupted the run, 0 if none. nslab's handler sets it (and
 * a Lua hook); engine loops that block (waiting for a child, a ping deadline,
 * a sleep) check it when a syscall returns EINTR and return -EINTR instead of
 * waiting on, so the interruption reaches Lua and teardown starts at once.
 * Under the stock lua5.4 nothing sets it.
 */
#ifndef NSLAB_INTERRUPT_H
#define NSLAB_INTERRUPT_H

#include <signal.h>

extern volatile sig_atomic_t nsl_interrupt_signal;

#endif
