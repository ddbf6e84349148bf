// The one file that includes c10d's Gloo header. The header is empty unless USE_C10D_GLOO is
// defined, and it includes the gloo headers of Debian's libgloo-dev. Debian's Torch CMake config
// (Caffe2Targets.cmake) already defines it for every target that links torch; the definition here
// keeps this file right for a build that does not, and stays out of the precompiled header.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "latentkit/trainer/distributed/process_group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace latentkit::trainer {

namespace {

std::chrono::milliseconds to_milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// The address of this machine that the others reach it by: the one its routing table uses
// towards the master (a UDP "connect" sends nothing; it only picks the route). Gloo binds its
// device to it and publishes it through the store. The hostname (Gloo's default device) can
// resolve to 127.0.1.1 on Debian, which no other machine can reach.
std::string local_address_towards(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr) {
    throw std::runtime_error("cannot resolve the master address '" + host + "' (--master ADDR:PORT)");
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t length = sizeof local;
  const bool ok = fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  ::freeaddrinfo(found);
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no route from this machine to the master '" + host + "'");
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
  return text;
}

}  // namespace

HostPort parse_master(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  HostPort result;
  if (colon != std::string::npos && colon > 0 && colon + 1 < text.size()) {
    result.host = text.substr(0, colon);
    try {
      std::size_t used = 0;
      const int port = std::stoi(text.substr(colon + 1), &used);
      if (used == text.size() - colon - 1 && port > 0 && port < 65536) {
        result.port = static_cast<uint16_t>(port);
        return result;
      }
    } catch (const std::exception&) {
    }
  }
  throw std::invalid_argument("--master '" + text + "': expected ADDR:PORT with a port from 1 to 65535");
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  double timeout_seconds = 0;
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl, int rank, int world_size)
    : impl_(std::move(impl)), rank_(rank), world_size_(world_size) {}

ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::join(const DistributedSettings& settings) {
  if (settings.world_size < 2 || settings.rank < 0 || settings.rank >= settings.world_size) {
    throw std::invalid_argument("--rank " + std::to_string(settings.rank) + " is not a rank of --world-size " +
                                std::to_string(settings.world_size) + " (ranks 0 to world size - 1; world size >= 2)");
  }
  if (!(settings.timeout_seconds > 0)) throw std::invalid_argument("--timeout must be above 0 seconds");
  const HostPort master = parse_master(settings.master);
  const std::string where = "rank " + std::to_string(settings.rank) + " of " + std::to_string(settings.world_size);
  auto impl = std::make_unique<Impl>();
  impl->timeout_seconds = settings.timeout_seconds;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = master.port;
    store_options.isServer = settings.rank == 0 && settings.host_store;
    store_options.waitWorkers = false;
    store_options.timeout = to_milliseconds(settings.timeout_seconds);
    impl->store = c10::make_intrusive<c10d::TCPStore>(master.host, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(to_milliseconds(settings.timeout_seconds));
    options->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname(local_address_towards(master.host, master.port)));
    // One thread for Gloo's work queue: the trainer waits for each collective before going on.
    options->threads = 1;
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, settings.rank, settings.world_size, options);
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": could not join the job at " + settings.master + " within " +
                             std::to_string(static_cast<int64_t>(settings.timeout_seconds)) +
                             " s (--timeout): every rank must start with the same --master and --world-size, "
                             "and the master's port must be reachable. c10d: " + std::string(e.what()));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(impl), settings.rank, settings.world_size));
}

namespace {

// Waits for a collective; a failure (a peer's closed socket, or the timeout) becomes one message
// that says what to look for.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, int rank, int world_size, double timeout_seconds,
              const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    std::string detail = e.what();
    const std::size_t newline = detail.find('\n');
    if (newline != std::string::npos) detail.resize(newline);
    throw std::runtime_error("rank " + std::to_string(rank) + " of " + std::to_string(world_size) + ": the " + what +
                             " failed: another rank died, was stopped or did not answer within " +
                             std::to_string(static_cast<int64_t>(timeout_seconds)) +
                             " s (--timeout); its own output says why. Gloo: " + detail);
  }
}

}  // namespace

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor, const char* what) {
  std::vector<torch::Tensor> tensors{tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  wait_for(impl_->group->allreduce(tensors, options), rank_, world_size_, impl_->timeout_seconds, what);
}

void ProcessGroup::all_reduce_max(torch::Tensor& tensor, const char* what) {
  std::vector<torch::Tensor> tensors{tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  wait_for(impl_->group->allreduce(tensors, options), rank_, world_size_, impl_->timeout_seconds, what);
}

void ProcessGroup::broadcast(torch::Tensor& tensor, int root, const char* what) {
  std::vector<torch::Tensor> tensors{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  wait_for(impl_->group->broadcast(tensors, options), rank_, world_size_, impl_->timeout_seconds, what);
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& tensor, const char* what) {
  std::vector<torch::Tensor> inputs{tensor.contiguous()};
  std::vector<std::vector<torch::Tensor>> outputs(1);
  for (int r = 0; r < world_size_; ++r) outputs[0].push_back(torch::empty_like(inputs[0]));
  wait_for(impl_->group->allgather(outputs, inputs), rank_, world_size_, impl_->timeout_seconds, what);
  return torch::stack(outputs[0]);
}

struct StoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

StoreServer::StoreServer(double timeout_seconds) : impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions options;
  options.port = 0;  // the system picks a free one
  options.isServer = true;
  options.waitWorkers = false;
  options.timeout = to_milliseconds(timeout_seconds);
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot start the rendezvous store on 127.0.0.1: ") + e.what());
  }
}

StoreServer::~StoreServer() = default;

uint16_t StoreServer::port() const { return impl_->store->getPort(); }

}  // namespace latentkit::trainer
