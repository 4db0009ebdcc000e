// A test's blocking TCP client socket to 127.0.0.1: reads give up after 5 s, so a server
// that fails to answer fails the test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstdint>

namespace kscope::test {

// A socket (the caller closes it); `connected` says whether the connect went through.
inline int loopback_socket(uint16_t port, bool& connected) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  return fd;
}

}  // namespace kscope::test
