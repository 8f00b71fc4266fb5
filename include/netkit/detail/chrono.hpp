#pragma once

// Durations, time points and clocks without the rest of <chrono>. In C++20 <chrono> also brings
// the calendar, time zones and stream output, and with them <sstream> and <locale>: 46,000
// preprocessed lines and 0.33 s of every includer's compile (g++ 12, -fsyntax-only), against
// 9,900 lines and 0.05 s for libstdc++'s <bits/chrono.h>, which holds everything netkit uses
// (duration, time_point, the clocks, floor/ceil, the literals). Other standard libraries get
// <chrono> itself.

#include <netkit/detail/chrono.hpp>

#include <version>

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#endif
