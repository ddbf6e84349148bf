// IDX reader and MNIST loader: good files read back exactly (raw and gzip), every kind of bad file
// is refused with a message that says what is wrong, and the real MNIST test split loads when
// tools/setup.sh has put it in data/mnist.
#include <doctest/doctest.h>
#include <zlib.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "latentkit/trainer/idx_reader.h"
#include "latentkit/trainer/mnist.h"

namespace fs = std::filesystem;
using latentkit::trainer::IdxArray;
using latentkit::trainer::ImageDataset;
using latentkit::trainer::load_idx_pair;
using latentkit::trainer::load_mnist_dir;
using latentkit::trainer::read_idx;
using latentkit::trainer::Split;

namespace {

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    for (int attempt = 0;; ++attempt) {
      path_ = fs::temp_directory_path() /
              ("latentkit-idx-test-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) +
               "-" + std::to_string(counter++));
      if (fs::create_directory(path_)) break;
      REQUIRE_MESSAGE(attempt < 100, "cannot create a temp directory near " << path_);
    }
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path operator/(const std::string& name) const { return path_ / name; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using Bytes = std::vector<std::uint8_t>;

// An IDX file: magic 0 0 type ndims, big-endian dimensions, then the payload as given.
Bytes idx_file(std::uint8_t type, const std::vector<std::uint32_t>& dims, const Bytes& payload) {
  Bytes out = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) {
    out.push_back(static_cast<std::uint8_t>(d >> 24));
    out.push_back(static_cast<std::uint8_t>(d >> 16));
    out.push_back(static_cast<std::uint8_t>(d >> 8));
    out.push_back(static_cast<std::uint8_t>(d));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Deterministic, not very compressible bytes.
Bytes pattern(std::size_t n, std::uint32_t seed = 12345) {
  Bytes out(n);
  std::uint32_t x = seed;
  for (auto& b : out) {
    x = x * 1664525U + 1013904223U;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return out;
}

void write_raw(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gz(const fs::path& path, const Bytes& bytes) {
  gzFile f = gzopen(path.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) {
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  }
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The message of the std::runtime_error read_idx throws for `path` ("(no exception)" if none).
std::string read_idx_error(const fs::path& path) {
  try {
    read_idx(path.string());
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

// doctest prints both sides when this fails: the whole message and the substring.
#define CHECK_CONTAINS(text, part) CHECK(doctest::String((text).c_str()) == doctest::Contains(part))

TEST_CASE("read_idx reads raw and gzip files back exactly") {
  TempDir dir;
  const Bytes images = pattern(5 * 3 * 4);
  const Bytes labels = {7, 2, 1, 0, 4};

  for (const bool gzip : {false, true}) {
    CAPTURE(gzip);
    const auto write = gzip ? write_gz : write_raw;
    // The gzip file is named without ".gz": detection is by content.
    const fs::path img = dir / (gzip ? "images-gz" : "images");
    const fs::path lab = dir / (gzip ? "labels.gz" : "labels");
    write(img, idx_file(0x08, {5, 3, 4}, images));
    write(lab, idx_file(0x08, {5}, labels));

    const IdxArray a = read_idx(img.string());
    CHECK(a.dims == std::vector<std::int64_t>{5, 3, 4});
    CHECK(a.data == images);
    const IdxArray b = read_idx(lab.string());
    CHECK(b.dims == std::vector<std::int64_t>{5});
    CHECK(b.data == labels);
  }

  // Four dimensions, and a dimension above 65535 (all four bytes of the big-endian size matter).
  write_raw(dir / "four", idx_file(0x08, {1, 2, 3, 2}, pattern(12)));
  CHECK(read_idx((dir / "four").string()).dims == std::vector<std::int64_t>{1, 2, 3, 2});
  const Bytes wide = pattern(70000, 7);
  write_gz(dir / "wide", idx_file(0x08, {70000}, wide));
  const IdxArray w = read_idx((dir / "wide").string());
  CHECK(w.dims == std::vector<std::int64_t>{70000});
  CHECK(w.data == wide);
}

TEST_CASE("read_idx refuses malformed headers") {
  TempDir dir;
  const auto check_error = [&](const std::string& name, const Bytes& bytes,
                               std::initializer_list<const char*> parts) {
    CAPTURE(name);
    write_raw(dir / name, bytes);
    const std::string msg = read_idx_error(dir / name);
    CHECK_CONTAINS(msg, (dir / name).string().c_str());  // the message names the file
    for (const char* part : parts) CHECK_CONTAINS(msg, part);
  };

  Bytes bad_magic = idx_file(0x08, {2}, {1, 2});
  bad_magic[1] = 0x01;
  check_error("bad-magic", bad_magic, {"bad magic", "0x00 0x01"});
  check_error("text", Bytes{'h', 'e', 'l', 'l', 'o', '\n'}, {"bad magic", "0x68 0x65"});
  check_error("float-type", idx_file(0x0D, {2}, pattern(8)), {"data type 0x0D (float32)", "0x08"});
  check_error("int32-type", idx_file(0x0C, {2}, pattern(8)), {"0x0C (int32)"});
  check_error("unknown-type", idx_file(0x42, {2}, pattern(2)), {"0x42 (not an IDX type)"});
  check_error("zero-dims", idx_file(0x08, {}, {}), {"has 0 dimensions", "1 to 4"});
  check_error("five-dims", idx_file(0x08, {1, 1, 1, 1, 1}, {9}), {"has 5 dimensions"});
  check_error("zero-dim", idx_file(0x08, {3, 0, 4}, {}), {"dimension 1 of 3 is 0 (dimensions 3 x 0 x 4)"});
  check_error("huge", idx_file(0x08, {65536, 65536}, pattern(16)),
              {"65536 x 65536", "more than the 2147483648 bytes"});
  check_error("huge-product", idx_file(0x08, {0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU, 2}, {}),
              {"more than the 2147483648 bytes"});
  check_error("empty", Bytes{}, {"too short", "0 bytes"});
  check_error("three-bytes", Bytes{0, 0, 8}, {"too short", "3 bytes"});
  Bytes cut_dims = idx_file(0x08, {10, 28, 28}, {});
  cut_dims.resize(9);
  check_error("cut-dims", cut_dims, {"header truncated", "12 bytes", "found 5"});
}

TEST_CASE("read_idx refuses truncated data and trailing bytes, raw and gzip") {
  TempDir dir;
  const Bytes full = idx_file(0x08, {2, 3, 4}, pattern(24));
  Bytes short_file = full;
  short_file.resize(full.size() - 4);
  Bytes long_file = full;
  long_file.insert(long_file.end(), {1, 2, 3});

  for (const bool gzip : {false, true}) {
    CAPTURE(gzip);
    const auto write = gzip ? write_gz : write_raw;
    write(dir / "short", short_file);
    CHECK_THROWS_WITH_AS(read_idx((dir / "short").string()),
                         doctest::Contains("expected 24 bytes of data (dimensions 2 x 3 x 4), found 20"),
                         std::runtime_error);
    write(dir / "long", long_file);
    CHECK_THROWS_WITH_AS(read_idx((dir / "long").string()),
                         doctest::Contains("3 trailing bytes after the 24 bytes of data"),
                         std::runtime_error);
  }
}

TEST_CASE("read_idx refuses missing files, directories and corrupt gzip streams") {
  TempDir dir;
  const fs::path missing = dir / "no-such-file";
  const std::string msg = read_idx_error(missing);
  CHECK_CONTAINS(msg, missing.string().c_str());
  CHECK_CONTAINS(msg, "cannot open");
  CHECK_CONTAINS(msg, "No such file or directory");

  CHECK_THROWS_WITH_AS(read_idx(dir.path().string()), doctest::Contains("is a directory"),
                       std::runtime_error);

  const Bytes payload = pattern(4000);
  write_gz(dir / "good.gz", idx_file(0x08, {4000}, payload));
  const Bytes gz = read_all(dir / "good.gz");
  REQUIRE(gz.size() > 40);
  REQUIRE(read_idx((dir / "good.gz").string()).data == payload);

  SUBCASE("CRC trailer wrong") {
    Bytes bad = gz;
    bad[bad.size() - 6] ^= 0xFF;  // the last 8 bytes are CRC-32 and size
    write_raw(dir / "crc.gz", bad);
    CHECK_THROWS_WITH_AS(read_idx((dir / "crc.gz").string()),
                         doctest::Contains("corrupt gzip stream: incorrect data check"),
                         std::runtime_error);
  }
  SUBCASE("unknown compression method") {
    Bytes bad = gz;
    bad[2] = 0x07;  // method byte: 8 is deflate, nothing else exists
    write_raw(dir / "method.gz", bad);
    CHECK_THROWS_WITH_AS(read_idx((dir / "method.gz").string()),
                         doctest::Contains("corrupt gzip stream: unknown compression method"),
                         std::runtime_error);
  }
  SUBCASE("deflate data damaged") {
    Bytes bad = gz;
    for (std::size_t i = 12; i < bad.size() - 8; i += 7) bad[i] ^= 0x5A;
    write_raw(dir / "damaged.gz", bad);
    const std::string m = read_idx_error(dir / "damaged.gz");
    CHECK_CONTAINS(m, "(gzip)");
    // Damaged deflate data is either refused by inflate or caught by the CRC; it may also make
    // the decoded payload the wrong length. Never accepted.
    CHECK(m != "(no exception)");
  }
  SUBCASE("gzip stream cut in the middle") {
    Bytes cut = gz;
    cut.resize(gz.size() / 2);
    write_raw(dir / "cut.gz", cut);
    CHECK_THROWS_WITH_AS(read_idx((dir / "cut.gz").string()),
                         doctest::Contains("the gzip stream ends early"), std::runtime_error);
  }
  SUBCASE("gzip stream cut inside the IDX header") {
    Bytes cut = gz;
    cut.resize(11);  // the 10-byte gzip header and one byte of deflate data
    write_raw(dir / "cut-early.gz", cut);
    CHECK_THROWS_WITH_AS(read_idx((dir / "cut-early.gz").string()),
                         doctest::Contains("too short for an IDX header"), std::runtime_error);
    CHECK_THROWS_WITH_AS(read_idx((dir / "cut-early.gz").string()),
                         doctest::Contains("the gzip stream ends early"), std::runtime_error);
  }
  SUBCASE("gzip trailer missing") {
    Bytes cut = gz;
    cut.resize(gz.size() - 8);  // all the data is there, the CRC and size are not
    write_raw(dir / "no-trailer.gz", cut);
    CHECK_THROWS_WITH_AS(read_idx((dir / "no-trailer.gz").string()),
                         doctest::Contains("corrupt gzip stream: it ends before its trailer"),
                         std::runtime_error);
  }
}

TEST_CASE("load_idx_pair checks shapes and counts and honours limit") {
  TempDir dir;
  const Bytes pixels = pattern(4 * 2 * 3);
  write_raw(dir / "images", idx_file(0x08, {4, 2, 3}, pixels));
  write_gz(dir / "labels", idx_file(0x08, {4}, {3, 200, 1, 9}));  // labels are not range-checked
  write_raw(dir / "labels3", idx_file(0x08, {3}, {3, 200, 1}));
  write_raw(dir / "flat-images", idx_file(0x08, {4, 6}, pixels));
  write_raw(dir / "square-labels", idx_file(0x08, {2, 2}, {1, 2, 3, 4}));
  const std::string images = (dir / "images").string();
  const std::string labels = (dir / "labels").string();

  const ImageDataset all = load_idx_pair(images, labels);
  CHECK(all.count == 4);
  CHECK(all.height == 2);
  CHECK(all.width == 3);
  CHECK(all.pixels == pixels);
  CHECK(all.labels == Bytes{3, 200, 1, 9});

  const ImageDataset two = load_idx_pair(images, labels, 2);
  CHECK(two.count == 2);
  CHECK(two.height == 2);
  CHECK(two.width == 3);
  CHECK(two.pixels == Bytes(pixels.begin(), pixels.begin() + 12));
  CHECK(two.labels == Bytes{3, 200});

  const ImageDataset more = load_idx_pair(images, labels, 100);  // more than there are: all
  CHECK(more.count == 4);
  CHECK(more.pixels.size() == pixels.size());

  CHECK_THROWS_AS(load_idx_pair(images, labels, -1), std::invalid_argument);
  CHECK_THROWS_WITH_AS(load_idx_pair(images, (dir / "labels3").string()),
                       doctest::Contains("holds 4 images but labels file"), std::runtime_error);
  CHECK_THROWS_WITH_AS(load_idx_pair(images, (dir / "labels3").string()),
                       doctest::Contains("holds 3 labels"), std::runtime_error);
  CHECK_THROWS_WITH_AS(load_idx_pair((dir / "flat-images").string(), labels),
                       doctest::Contains("has 2 dimensions (4 x 6); expected 3"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_idx_pair(images, (dir / "square-labels").string()),
                       doctest::Contains("has 2 dimensions (2 x 2); expected 1"),
                       std::runtime_error);
}

TEST_CASE("load_mnist_dir finds raw and .gz files and names what it looked for") {
  TempDir dir;
  const Bytes pixels = pattern(3 * 28 * 28);
  write_gz(dir / "train-images-idx3-ubyte.gz", idx_file(0x08, {3, 28, 28}, pixels));
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_file(0x08, {3}, {5, 0, 4}));

  const ImageDataset train = load_mnist_dir(dir.path().string(), Split::train);
  CHECK(train.count == 3);
  CHECK(train.height == 28);
  CHECK(train.width == 28);
  CHECK(train.pixels == pixels);
  CHECK(train.labels == Bytes{5, 0, 4});
  CHECK(load_mnist_dir(dir.path().string(), Split::train, 1).count == 1);

  // The test split is absent: the message names the directory and both names it tried.
  std::string msg;
  try {
    load_mnist_dir(dir.path().string(), Split::test);
  } catch (const std::runtime_error& e) {
    msg = e.what();
  }
  CHECK_CONTAINS(msg, dir.path().string().c_str());
  CHECK_CONTAINS(msg, "t10k-images-idx3-ubyte and t10k-images-idx3-ubyte.gz");

  // Raw images with gzip labels mix fine.
  write_raw(dir / "t10k-images-idx3-ubyte", idx_file(0x08, {2, 28, 28}, pattern(2 * 28 * 28, 3)));
  CHECK_THROWS_WITH_AS(load_mnist_dir(dir.path().string(), Split::test),
                       doctest::Contains("t10k-labels-idx1-ubyte.gz"), std::runtime_error);
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_file(0x08, {2}, {7, 2}));
  CHECK(load_mnist_dir(dir.path().string(), Split::test).labels == Bytes{7, 2});

  CHECK_THROWS_WITH_AS(load_mnist_dir((dir / "nowhere").string(), Split::train),
                       doctest::Contains("does not exist"), std::runtime_error);
}

TEST_CASE("the real MNIST test split loads (data/mnist from tools/setup.sh)") {
  const fs::path mnist = fs::path(__FILE__).parent_path() / ".." / ".." / "data" / "mnist";
  if (!fs::exists(mnist / "t10k-images-idx3-ubyte") &&
      !fs::exists(mnist / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: no MNIST in " << mnist.string() << " (run tools/setup.sh)");
    return;
  }
  const ImageDataset test = load_mnist_dir(mnist.string(), Split::test);
  CHECK(test.count == 10000);
  CHECK(test.height == 28);
  CHECK(test.width == 28);
  CHECK(test.pixels.size() == 10000U * 28U * 28U);
  REQUIRE(test.labels.size() == 10000U);

  std::array<int, 10> per_digit{};
  bool in_range = true;
  for (std::uint8_t label : test.labels) {
    if (label > 9) {
      in_range = false;
    } else {
      ++per_digit[label];
    }
  }
  CHECK(in_range);
  for (int digit = 0; digit < 10; ++digit) {
    CAPTURE(digit);
    CHECK(per_digit[static_cast<std::size_t>(digit)] > 800);  // 892 (fives) to 1135 (ones)
  }
  // The well-known first labels of the test split.
  CHECK(Bytes(test.labels.begin(), test.labels.begin() + 10) ==
        Bytes{7, 2, 1, 0, 4, 1, 4, 9, 5, 9});
}
