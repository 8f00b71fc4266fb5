#pragma once

// What netkit uses of <iterator>: std::begin, end, data and size, forward_iterator_tag, the
// iterator concepts and ranges::enable_borrowed_range. <iterator> itself also brings the stream
// iterators and, with them, <iosfwd> and the streambuf machinery: 33,800 preprocessed lines
// against 12,100 for the three libstdc++ headers below, which hold everything netkit uses.
// Other standard libraries get <iterator> itself.

#include <version>

#if defined(__GLIBCXX__) && __has_include(<bits/range_access.h>) &&                            \
    __has_include(<bits/ranges_base.h>) && __has_include(<bits/stl_iterator_base_types.h>)
#include <bits/range_access.h>
#include <bits/ranges_base.h>
#include <bits/stl_iterator_base_types.h>
#else
#include <iterator>
#endif
