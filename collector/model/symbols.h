// Names for the numbers the kernel reports: errnos and signals.
#pragma once

#include <string>

namespace kscope {

std::string errno_name(int err);   // "ENOENT" for 2; the number as text when unknown
std::string signal_name(int sig);  // "SIGKILL" for 9; the number as text when unknown

}  // namespace kscope
