# bpf_object(<name> <src.bpf.c>)
#
# Compiles one probe with clang for the BPF target (CO-RE against the checked-in vmlinux.h),
# generates its libbpf skeleton with bpftool, and exposes both as the INTERFACE target
# <name>_skel. A function, not a macro, so its list variables stay local to each call.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "kscope: no vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}")
endif()

# The system include dirs go after ours (-idirafter) so that <asm/...> resolves for the BPF
# target without the host's own headers shadowing vmlinux.h.
execute_process(
  COMMAND ${BPF_CLANG} -v -E -x c /dev/null
  ERROR_VARIABLE _clang_v OUTPUT_QUIET)
string(REGEX MATCH "#include <...> search starts here:\n(.*)End of search list" _m "${_clang_v}")
string(REPLACE "\n" ";" _sys_dirs "${CMAKE_MATCH_1}")
set(BPF_SYSTEM_INCLUDES "")
foreach(_d IN LISTS _sys_dirs)
  string(STRIP "${_d}" _d)
  if(_d)
    list(APPEND BPF_SYSTEM_INCLUDES -idirafter ${_d})
  endif()
endforeach()
set(BPF_SYSTEM_INCLUDES "${BPF_SYSTEM_INCLUDES}" CACHE INTERNAL "")

function(bpf_object name src)
  set(_src ${CMAKE_CURRENT_SOURCE_DIR}/${src})
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(_skel ${CMAKE_CURRENT_BINARY_DIR}/skel/${name}.skel.h)
  file(GLOB _deps ${PROJECT_SOURCE_DIR}/probes/*.h ${PROJECT_SOURCE_DIR}/probes/common/*.h)
  add_custom_command(
    OUTPUT ${_out}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Werror -Wno-unused-function
            -I${PROJECT_SOURCE_DIR}/probes
            -I${PROJECT_SOURCE_DIR}/probes/vmlinux/${BPF_TARGET_ARCH}
            ${BPF_SYSTEM_INCLUDES}
            -c ${_src} -o ${_out}
    DEPENDS ${_src} ${_deps}
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${_skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/skel
    COMMAND sh -c "${BPFTOOL} gen skeleton ${_out} name ${name}_bpf > ${_skel}.tmp && mv ${_skel}.tmp ${_skel}"
    DEPENDS ${_out}
    COMMENT "skeleton ${name}"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${_skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR}/skel)
endfunction()
