#pragma once

/// The coroutine layer, opt-in: tasks, the loop, cancellation and the awaitable operations.
/// `<netkit/netkit.hpp>` does not include it. See docs/coroutines.md.

#include <netkit/async/accept_awaiter.hpp>
#include <netkit/async/accept_queues.hpp>
#include <netkit/async/awaiters.hpp>
#include <netkit/async/call_awaiter.hpp>
#include <netkit/async/connect_awaiter.hpp>
#include <netkit/async/datagram_operations.hpp>
#include <netkit/async/deadline_slots.hpp>
#include <netkit/async/descriptor_epochs.hpp>
#include <netkit/async/descriptor_table.hpp>
#include <netkit/async/engine.hpp>
#include <netkit/async/epoll_engine.hpp>
#include <netkit/async/file_operations.hpp>
#include <netkit/async/frame_allocator.hpp>
#include <netkit/async/incoming.hpp>
#include <netkit/async/loop.hpp>
#include <netkit/async/loop_waits.hpp>
#include <netkit/async/message_operations.hpp>
#include <netkit/async/operation.hpp>
#include <netkit/async/operations.hpp>
#include <netkit/async/post_queue.hpp>
#include <netkit/async/receive_queues.hpp>
#include <netkit/async/scope.hpp>
#include <netkit/async/stop.hpp>
#include <netkit/async/stream_reader.hpp>
#include <netkit/async/task.hpp>
#include <netkit/async/task_list.hpp>
#include <netkit/async/uring_checks.hpp>
#include <netkit/async/uring_engine.hpp>
#include <netkit/async/when.hpp>
#include <netkit/async/zero_copy.hpp>
