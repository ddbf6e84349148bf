// Loading a model and building a backend fail cleanly when memory runs out: every allocation
// they make is made to fail in turn (as ExecuTorch's allocator tests do), and each time the
// caller gets latentkit::Error(out_of_memory) — or LATENTKIT_OUT_OF_MEMORY through the C API —
// never an abort, a leak or a half-built object that later misbehaves.
//
// This file replaces the global operator new for the whole test binary; the replacement only
// fails while a test has armed it, and then exactly once (the N-th allocation), so that the error
// path itself can allocate its message. XNNPACK allocates through its own malloc-based allocator,
// which this does not reach; its failures come back as xnn_status_out_of_memory, which the
// backend turns into the same Error.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "latentkit.h"
#include "latentkit/backend.h"
#include "latentkit/calibration.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "runtime/random_model.h"

namespace {

// -1: disarmed. Otherwise the number of allocations still allowed before one fails.
std::atomic<long> allocations_left{-1};
std::atomic<bool> failed{false};

bool should_fail() {
  long left = allocations_left.load(std::memory_order_relaxed);
  while (left >= 0) {
    if (allocations_left.compare_exchange_weak(left, left - 1)) {
      if (left == 0) {
        allocations_left = -1;  // one failure per run: the error path may allocate
        failed = true;
        return true;
      }
      return false;
    }
  }
  return false;
}

void* allocate(std::size_t size, std::size_t alignment = 0) {
  if (should_fail()) return nullptr;
  if (size == 0) size = 1;
  if (alignment > alignof(std::max_align_t)) {
    return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  }
  return std::malloc(size);
}

void* allocate_or_throw(std::size_t size, std::size_t alignment = 0) {
  void* p = allocate(size, alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, std::align_val_t a) { return allocate_or_throw(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate_or_throw(size, static_cast<std::size_t>(a)); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace lk = latentkit;

namespace {

struct Outcome {
  bool failed_allocation = false;  // the armed allocation was reached
  std::string error;               // what the caller was told ("" on success)
  bool out_of_memory = false;      // ... and that it said out of memory
  bool other_exception = false;
};

// Runs `body` with the n-th allocation failing.
template <class Body>
Outcome with_failing_allocation(long n, Body&& body) {
  Outcome outcome;
  failed = false;
  allocations_left = n;
  try {
    body(outcome);
  } catch (const lk::Error& e) {
    outcome.error = e.what();
    outcome.out_of_memory = e.code() == lk::ErrorCode::out_of_memory;
  } catch (...) {
    outcome.other_exception = true;
  }
  allocations_left = -1;
  outcome.failed_allocation = failed;
  return outcome;
}

std::vector<lk::BackendKind> backends() {
  std::vector<lk::BackendKind> kinds{lk::BackendKind::reference};
  if (lk::backend_available(lk::BackendKind::xnnpack)) kinds.push_back(lk::BackendKind::xnnpack);
  return kinds;
}

std::vector<std::vector<uint8_t>> model_files() {
  lk::ModelDescription fp32 = lk::testing::seed000_decoder(4);
  const std::vector<uint8_t> fp32_bytes = lk::serialize_model(fp32);
  const lk::Model reference = lk::Model::load_bytes(fp32_bytes.data(), fp32_bytes.size());
  lk::ModelDescription int8 = fp32;
  lk::quantize_model(int8, lk::observe_ranges(reference, lk::sample_latents(reference.latent(), 20, 1)));
  return {fp32_bytes, lk::serialize_model(int8)};
}

}  // namespace

TEST_CASE("every allocation of load and build fails in turn: each is an out-of-memory error") {
  for (const std::vector<uint8_t>& bytes : model_files()) {
    for (lk::BackendKind kind : backends()) {
      const std::string backend_name = lk::to_string(kind);
      CAPTURE(backend_name);
      std::vector<float> images(2 * 28 * 28);
      const std::vector<float> z{0.1f, 0.2f, -0.3f, 0.4f};
      long n = 0;
      for (;; ++n) {
        const Outcome outcome = with_failing_allocation(n, [&](Outcome&) {
          const lk::Model model = lk::Model::load_bytes(bytes.data(), bytes.size());
          std::unique_ptr<lk::Backend> backend = lk::make_backend(kind, model, 2);
          backend->run(z.data(), images.data());  // allocates nothing (backend.h)
        });
        if (!outcome.failed_allocation) {
          CHECK(outcome.error.empty());  // every allocation succeeded: so did the work
          break;
        }
        CAPTURE(n);
        CHECK_FALSE(outcome.other_exception);
        CHECK(outcome.out_of_memory);
        CHECK(outcome.error.find("out of memory") != std::string::npos);
      }
      MESSAGE(backend_name << ": " << n << " allocations, each failed once");
      CHECK(n > 20);  // the loop did reach the loader's and the backend's allocations
    }
  }
}

TEST_CASE("the C API reports each failed allocation as LATENTKIT_OUT_OF_MEMORY") {
  const std::vector<uint8_t> bytes = model_files()[0];
  long n = 0;
  for (;; ++n) {
    latentkit_status load_status = LATENTKIT_OK, prepare_status = LATENTKIT_OK;
    bool model_after_failed_load = false;
    const Outcome outcome = with_failing_allocation(n, [&](Outcome&) {
      latentkit_model* model = nullptr;
      load_status = latentkit_load_memory(bytes.data(), bytes.size(), nullptr, &model);
      if (load_status != LATENTKIT_OK) {
        model_after_failed_load = model != nullptr;
        return;
      }
      prepare_status = latentkit_prepare(model, 3);
      latentkit_free(model);
    });
    if (!outcome.failed_allocation) {
      CHECK(load_status == LATENTKIT_OK);
      CHECK(prepare_status == LATENTKIT_OK);
      break;
    }
    CAPTURE(n);
    CHECK_FALSE(outcome.other_exception);
    CHECK_FALSE(model_after_failed_load);
    CHECK(((load_status == LATENTKIT_OUT_OF_MEMORY) != (prepare_status == LATENTKIT_OUT_OF_MEMORY)));
  }
  CHECK(n > 20);
}
