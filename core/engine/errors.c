/* Names for errnos and the mapping from libnl's error codes back to errnos. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netlink/errno.h>

#include "errors.h"

const char *nsl_errname(int err)
{
	static char unknown[16];
	const char *name;

	if (err < 0)
		err = -err;
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(unknown, sizeof unknown, "E%d", err);
	return unknown;
}

/*
 * Only used when the kernel did not say why (no NLMSG_ERROR was received):
 * then the failure was local to libnl, and these are the codes it produces.
 */
int nsl_nlerr_to_errno(int nlerr)
{
	if (nlerr < 0)
		nlerr = -nlerr;
	switch (nlerr) {
	case NLE_SUCCESS:	return 0;
	case NLE_INTR:		return EINTR;
	case NLE_BAD_SOCK:	return EBADF;
	case NLE_AGAIN:		return EAGAIN;
	case NLE_NOMEM:		return ENOMEM;
	case NLE_EXIST:		return EEXIST;
	case NLE_INVAL:		return EINVAL;
	case NLE_RANGE:		return ERANGE;
	case NLE_MSGSIZE:	return EMSGSIZE;
	case NLE_OPNOTSUPP:	return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:	return EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:	return ENOENT;
	case NLE_NOATTR:	return ENOENT;
	case NLE_MISSING_ATTR:	return EINVAL;
	case NLE_AF_MISMATCH:	return EAFNOSUPPORT;
	case NLE_SEQ_MISMATCH:	return EPROTO;
	case NLE_MSG_OVERFLOW:	return EMSGSIZE;
	case NLE_MSG_TRUNC:	return EMSGSIZE;
	case NLE_NOADDR:	return EADDRNOTAVAIL;
	case NLE_SRCRT_NOSUPPORT: return EOPNOTSUPP;
	case NLE_MSG_TOOSHORT:	return EPROTO;
	case NLE_MSGTYPE_NOSUPPORT: return EOPNOTSUPP;
	case NLE_OBJ_MISMATCH:	return EINVAL;
	case NLE_NOCACHE:	return ENOENT;
	case NLE_BUSY:		return EBUSY;
	case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
	case NLE_NOACCESS:	return EACCES;
	case NLE_PERM:		return EPERM;
	case NLE_PKTLOC_FILE:	return ENOENT;
	case NLE_PARSE_ERR:	return EINVAL;
	case NLE_NODEV:		return ENODEV;
	case NLE_IMMUTABLE:	return EPERM;
	case NLE_DUMP_INTR:	return EINTR;
	case NLE_ATTRSIZE:	return ERANGE;
	default:		return EIO;
	}
}
