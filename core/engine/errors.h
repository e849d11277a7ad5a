/*
 * Errors in the C engine.
 *
 * Every engine function returns 0 (or a non-negative count) on success and a
 * negative errno on failure, the kernel's own errno wherever the kernel gave one.
 * libnl's error codes are lossy ("Unspecific failure" for ENETUNREACH), so the
 * netlink layer captures the kernel's errno from NLMSG_ERROR itself; see netlink.h.
 */
#ifndef NSLAB_ERRORS_H
#define NSLAB_ERRORS_H

/* "EEXIST" for EEXIST; "E<number>" for an errno glibc has no name for. */
const char *nsl_errname(int err);

/* The errno closest to a (negative or positive) libnl error code. */
int nsl_nlerr_to_errno(int nlerr);

#endif
