/* The fixed data dns_resolver serves and dns_client expects (and writes to its TSV), and what
 * both need to read a TCP stream. */
#ifndef KSCOPE_DNS_KNOWN_H
#define KSCOPE_DNS_KNOWN_H

#define DNS_MAX 512 /* a message, either way */
#define DNS_OUT_MAX (DNS_MAX + 64) /* a response: the query and its answers */

#define KNOWN_NAME "known.kscope.test"
#define MISSING_NAME "missing.kscope.test" /* NXDOMAIN */

#define KNOWN_A1 {10, 231, 99, 1}
#define KNOWN_A2 {10, 231, 99, 2}
#define KNOWN_AAAA {0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
#define KNOWN_A_TEXT "10.231.99.1,10.231.99.2"
#define KNOWN_AAAA_TEXT "fd00:99::1"

#include <stdint.h>
#include <unistd.h>

/* n bytes from a TCP stream; -1 when it ends first. */
static inline int read_full(int fd, uint8_t *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

#endif
