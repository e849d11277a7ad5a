/*
 * Strict parsing and validation of what scripts pass in: namespace names,
 * interface names, IP addresses with prefixes, MAC addresses, sysctl keys.
 *
 * libnl accepts far too much (it truncates long interface names, takes "/33",
 * "/0x18" and trailing junk), so everything is checked here before libnl sees
 * it. Each check returns 0 or -EINVAL and sets *why to a short reason that the
 * bindings put into the argument error ("too long (16 bytes, at most 15)").
 */
#ifndef NSLAB_PARSE_H
#define NSLAB_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NSL_IFNAMSIZ 16		/* with the NUL, as IFNAMSIZ */

struct nsl_ip {
	int family;		/* AF_INET or AF_INET6 */
	int prefixlen;		/* -1 when the text had no "/len" */
	unsigned char addr[16];	/* network byte order; 4 or 16 bytes used */
};

int nsl_check_nsname(const char *s, size_t len, const char **why);
int nsl_check_ifname(const char *s, size_t len, const char **why);
int nsl_check_sysctl_key(const char *s, size_t len, const char **why);

/* "192.0.2.1", "192.0.2.1/24", "2001:db8::1/64". want_prefix: 0 refuses a
 * "/len", 1 requires it, -1 allows either. */
int nsl_parse_ip(const char *s, int want_prefix, struct nsl_ip *out, const char **why);
/* The address of an nsl_ip as text, without the prefix. */
const char *nsl_ip_ntop(const struct nsl_ip *ip, char *buf, size_t len);
int nsl_ip_addrlen(const struct nsl_ip *ip);

/* "00:00:5e:00:53:01" (two hex digits per byte, ':' or '-'). */
int nsl_parse_mac(const char *s, unsigned char mac[6], const char **why);

#endif
