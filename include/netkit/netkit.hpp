#pragma once

/// Everything in netkit except the opt-in fmt formatters (<netkit/fmt.hpp>), layer by layer.

#include <netkit/core/credentials.hpp>
#include <netkit/core/deadline.hpp>
#include <netkit/core/error.hpp>
#include <netkit/core/fd.hpp>
#include <netkit/core/result.hpp>

#include <netkit/addr/address.hpp>
#include <netkit/addr/address_error.hpp>
#include <netkit/addr/address_v4.hpp>
#include <netkit/addr/address_v6.hpp>
#include <netkit/addr/endpoint.hpp>
#include <netkit/addr/local_endpoint.hpp>
#include <netkit/addr/resolve.hpp>

#include <netkit/protocol/concepts.hpp>
#include <netkit/protocol/tags.hpp>

#include <netkit/buffer/buffer.hpp>
#include <netkit/buffer/concepts.hpp>
#include <netkit/buffer/cursor.hpp>
#include <netkit/buffer/exact_gather.hpp>

#include <netkit/option/access.hpp>
#include <netkit/option/all.hpp>
#include <netkit/option/codecs.hpp>
#include <netkit/option/descriptor.hpp>

#include <netkit/msg/batch.hpp>
#include <netkit/msg/cmsg.hpp>
#include <netkit/msg/control.hpp>
#include <netkit/msg/extended_error.hpp>
#include <netkit/msg/flags.hpp>
#include <netkit/msg/message.hpp>
#include <netkit/msg/receive_info.hpp>
#include <netkit/msg/segments.hpp>

#include <netkit/socket/acceptor.hpp>
#include <netkit/socket/socket.hpp>

#include <netkit/io/batch.hpp>
#include <netkit/io/error_queue.hpp>
#include <netkit/io/file_transfer.hpp>
#include <netkit/io/pipe.hpp>
#include <netkit/io/poller.hpp>
#include <netkit/io/resumable.hpp>
#include <netkit/io/splice.hpp>
#include <netkit/io/timer_queue.hpp>
#include <netkit/io/udp_offload.hpp>
#include <netkit/io/zerocopy.hpp>
