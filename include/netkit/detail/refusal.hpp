#pragma once

// A refusal is an overload that exists to be chosen for a call netkit refuses, and to name the
// mistake on the first line of the compiler's output. It is constrained on the negation of what
// the accepted overload requires, so a call matches exactly one of the two; it is declared, never
// defined, so it generates no code.
//
// Why not a static_assert in the body: the body is instantiated only after overload resolution
// has picked the function, so `requires { sock.set(option, value); }` would be true for a call
// that cannot compile, and generic code could not test for it. Why not a requires-clause alone:
// both compilers then lead with "no matching function" and bury the reason among the candidates.
// A refusal is both: choosing it is ill-formed in the immediate context (the requires-expression
// is false), and each compiler's first line carries the sentence.
//
// - g++ prints a deleted function's signature, return type included, on its first line ("use of
//   deleted function 'netkit::detail::refused<...{"netkit: ..."}> ...'"), so the sentence is a
//   template argument of the return type.
// - clang prints a deleted function's name only, but an unavailable one's message first ("'set'
//   is unavailable: netkit: ..."); an unavailable function is as unusable as a deleted one, in a
//   requires-expression too.
//
// A sentence must hold no apostrophe or double quote: g++ escapes them in the type it prints.

#include <cstddef>

namespace netkit::detail {

/// The sentence of a refusal, as a template argument: an aggregate that the string literal
/// initialises directly, with no copy loop for the constant evaluator to run.
template <std::size_t N>
struct refusal_text {
    char chars[N]; // NOLINT(cppcoreguidelines-avoid-c-arrays): structural, for NTTP use
};
template <std::size_t N>
refusal_text(const char (&)[N]) -> refusal_text<N>;

/// The return type of a refusal: it carries the sentence into g++'s first error line.
template <refusal_text Sentence>
struct refused {};

} // namespace netkit::detail

#if defined(__clang__)
/// Begins a refusal's declaration, in place of its return type (see the comment above).
#define NETKIT_REFUSED(sentence)                                                                   \
    __attribute__((unavailable(                                                                    \
        sentence))) ::netkit::detail::refused<::netkit::detail::refusal_text{sentence}>
/// Ends a refusal's declaration: clang's refusal is unavailable, and left undefined.
#define NETKIT_REFUSAL_END
#else
/// Begins a refusal's declaration, in place of its return type (see the comment above).
#define NETKIT_REFUSED(sentence) ::netkit::detail::refused<::netkit::detail::refusal_text{sentence}>
/// Ends a refusal's declaration: g++'s refusal is deleted.
#define NETKIT_REFUSAL_END = delete
#endif

// The refusals of the data a send or a receive takes, declared in a class for each `function`.
// `allowed` is the protocol's own condition for the function, so that a call on the wrong
// protocol gets that refusal alone, and one with the wrong data this one alone.

/// The refusals of a send function's data.
#define NETKIT_REFUSE_SEND_DATA(function, allowed)                                                 \
    template <class Data, class... Rest>                                                           \
        requires(allowed)                                                                          \
    &&(::netkit::detail::send_refusal<Data>() == ::netkit::detail::data_refusal::not_a_buffer)     \
        NETKIT_REFUSED(                                                                            \
            "netkit: cannot send this type: pass a contiguous sized range (std::string, "          \
            "std::vector, std::array, std::span, a C array...), a const_buffer, or a "             \
            "buffer sequence such as gather(...)")                                                 \
            function(const Data&, const Rest&...) noexcept NETKIT_REFUSAL_END;                     \
    template <class Data, class... Rest>                                                           \
        requires(allowed)                                                                          \
    &&(::netkit::detail::send_refusal<Data>() ==                                                   \
       ::netkit::detail::data_refusal::not_trivially_copyable)                                     \
        NETKIT_REFUSED(                                                                            \
            "netkit: buffer elements must be trivially copyable: the kernel copies their "         \
            "bytes, which is wrong for types that own memory (std::string, a pointer "             \
            "and its target)") function(const Data&, const Rest&...) noexcept NETKIT_REFUSAL_END

/// The refusals of a receive function's target.
#define NETKIT_REFUSE_RECEIVE_DATA(function, allowed)                                              \
    template <class Data, class... Rest>                                                           \
        requires(allowed)                                                                          \
    &&(::netkit::detail::receive_refusal<Data>() == ::netkit::detail::data_refusal::not_a_buffer)  \
        NETKIT_REFUSED("netkit: cannot receive into this type: pass a writable contiguous sized "  \
                       "range (std::string, std::vector, std::array, std::span, a C array...), a " \
                       "mutable_buffer, or scatter(...)")                                          \
            function(Data&&, Rest&&...) noexcept NETKIT_REFUSAL_END;                               \
    template <class Data, class... Rest>                                                           \
        requires(allowed)                                                                          \
    &&(::netkit::detail::receive_refusal<Data>() ==                                                \
       ::netkit::detail::data_refusal::not_trivially_copyable)                                     \
        NETKIT_REFUSED(                                                                            \
            "netkit: buffer elements must be trivially copyable: the kernel copies their "         \
            "bytes, which is wrong for types that own memory (std::string, a pointer "             \
            "and its target)") function(Data&&, Rest&&...) noexcept NETKIT_REFUSAL_END;            \
    template <class Data, class... Rest>                                                           \
        requires(allowed)                                                                          \
    &&(::netkit::detail::receive_refusal<Data>() == ::netkit::detail::data_refusal::const_object)  \
        NETKIT_REFUSED("netkit: cannot receive into a const object: pass a writable range")        \
            function(Data&&, Rest&&...) noexcept NETKIT_REFUSAL_END;                               \
    template <class Data, class... Rest>                                                           \
        requires(allowed)                                                                          \
    &&(::netkit::detail::receive_refusal<Data>() ==                                                \
       ::netkit::detail::data_refusal::read_only_range)                                            \
        NETKIT_REFUSED(                                                                            \
            "netkit: cannot receive into a read-only range (a std::string_view, a span "           \
            "of const, a const container, a const_buffer): pass a writable range")                 \
            function(Data&&, Rest&&...) noexcept NETKIT_REFUSAL_END;                               \
    template <class Data, class... Rest>                                                           \
        requires(allowed)                                                                          \
    &&(::netkit::detail::receive_refusal<Data>() ==                                                \
       ::netkit::detail::data_refusal::const_buffer_sequence)                                      \
        NETKIT_REFUSED("netkit: cannot receive into a sequence of const_buffer: use scatter() or " \
                       "mutable_buffer") function(Data&&, Rest&&...) noexcept NETKIT_REFUSAL_END
