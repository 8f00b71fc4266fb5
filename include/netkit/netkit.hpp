#pragma once

/// Everything in netkit except the opt-in fmt formatters (<netkit/fmt.hpp>).

#include <netkit/acceptor.hpp>
#include <netkit/address.hpp>
#include <netkit/address_error.hpp>
#include <netkit/buffer.hpp>
#include <netkit/buffer_cursor.hpp>
#include <netkit/concepts.hpp>
#include <netkit/control.hpp>
#include <netkit/deadline.hpp>
#include <netkit/endpoint.hpp>
#include <netkit/error.hpp>
#include <netkit/fd.hpp>
#include <netkit/flags.hpp>
#include <netkit/local_endpoint.hpp>
#include <netkit/message.hpp>
#include <netkit/option.hpp>
#include <netkit/options.hpp>
#include <netkit/protocol.hpp>
#include <netkit/receive_info.hpp>
#include <netkit/resolve.hpp>
#include <netkit/result.hpp>
#include <netkit/resumable.hpp>
#include <netkit/socket.hpp>
