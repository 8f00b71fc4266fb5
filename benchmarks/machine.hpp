#pragma once

// What the benchmarks print about the machine they ran on, so that a figure can be read with it.

#include <fstream>
#include <string>

namespace netkit_bench {

/// The CPU's model name from /proc/cpuinfo, or "unknown CPU".
inline std::string cpu_model() {
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);) {
        if (line.rfind("model name", 0) == 0) {
            return line.substr(line.find(':') + 2);
        }
    }
    return "unknown CPU";
}

} // namespace netkit_bench
