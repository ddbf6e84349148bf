// Hostile input never crashes latentkit (issue #16): every command of both programs, given
// missing, empty, truncated, folder-instead-of-file and wrong-format inputs, huge dimensions,
// non-finite numbers, absurd counts, bad flags, and outputs that cannot be written (a missing
// folder, a read-only file system, /dev/full, a full file system), answers with a message naming
// the problem on stderr and a non-zero exit status, never with a signal or an uncaught exception,
// and leaves no output file and no `.tmp` behind.
//
// The read-only and full file systems are small tmpfs mounts (the tests run as root, for whom
// permissions stop nothing); where mounting is not allowed those cases are skipped with a message.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "latentkit/model_writer.h"
#include "runtime/random_model.h"

using namespace latentkit::cli_test;
namespace lk = latentkit;

namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void write_model(const fs::path& path, const lk::ModelDescription& description) {
  const std::vector<uint8_t> bytes = lk::serialize_model(description);
  write_bytes(path, std::string(bytes.begin(), bytes.end()));
}

// A refusal: a message on stderr containing `needle`, a non-zero exit status, no crash (no
// signal, no uncaught exception, no sanitizer report).
void expect_refused(const Run& r, const std::string& needle) {
  INFO("expected in stderr: ", needle);
  INFO("stderr: ", r.err);
  INFO("stdout: ", r.out);
  CHECK_FALSE(r.crashed());
  CHECK(r.exit_code != 0);
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(r.err.find("terminate called") == std::string::npos);
  // A sanitizer build (the asan preset) reports with exit status 1: look for its report too.
  CHECK(r.err.find("Sanitizer") == std::string::npos);
  CHECK(r.err.find("runtime error:") == std::string::npos);
}

// Nothing at `path`, and no temporary file beside it.
void expect_no_output(const fs::path& path) {
  INFO("output ", path.string());
  std::error_code ec;
  CHECK_FALSE(fs::exists(fs::symlink_status(path, ec)));
  CHECK_FALSE(fs::exists(fs::symlink_status(path.string() + ".tmp", ec)));
  const fs::path folder = path.parent_path();
  if (!fs::is_directory(folder, ec) || folder == "/dev" || folder == "/proc") return;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    INFO("left in the folder: ", entry.path().string());
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  }
}

void expect_dev_full_intact() {
  struct stat s {};
  REQUIRE(::stat("/dev/full", &s) == 0);
  CHECK(S_ISCHR(s.st_mode));
  CHECK_FALSE(fs::exists("/dev/full.tmp"));
}

// A tmpfs of 64 KiB mounted on `dir`: read-only, or filled up so that every write fails with
// ENOSPC. `mounted` is false where mounting is not allowed (then the caller skips the case).
struct SmallFileSystem {
  fs::path dir;
  bool mounted = false;
  SmallFileSystem(const fs::path& where, bool read_only) : dir(where) {
    fs::create_directories(dir);
    const std::string options = read_only ? "ro,size=64k" : "size=64k";
    mounted = std::system(("mount -t tmpfs -o " + options + " tmpfs '" + dir.string() + "' 2>/dev/null").c_str()) == 0;
    if (mounted && !read_only) {
      std::system(("head -c 1048576 /dev/zero > '" + (dir / "filler").string() + "' 2>/dev/null").c_str());
    }
  }
  ~SmallFileSystem() {
    if (mounted) std::system(("umount '" + dir.string() + "'").c_str());
  }
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;
};

void skipped(const std::string& what) { MESSAGE("skipped (cannot mount a tmpfs here): ", what); }

// `command(path)` writes its output to `name` inside a read-only and inside a full file system:
// each is refused with the file system's own error and leaves nothing behind, not even the
// folders `name` would have created.
void expect_refused_on_unwritable_file_systems(const fs::path& scratch, const std::string& name, const std::string& what,
                                               const std::function<std::string(const fs::path&)>& command) {
  for (const bool read_only : {true, false}) {
    SmallFileSystem small(scratch / (read_only ? "ro" : "full"), read_only);
    if (!small.mounted) {
      skipped(what + (read_only ? " on a read-only file system" : " on a full file system"));
      continue;
    }
    expect_refused(run(command(small.dir / name)), read_only ? "Read-only file system" : "No space left on device");
    expect_no_output(small.dir / name);
    expect_no_output(small.dir / *fs::path(name).begin());
  }
}

// Model files for latentkit-sample and inspect, good and bad.
struct ModelFiles {
  fs::path good, missing, empty, truncated, folder, png, garbage, huge_dims, big_image;

  explicit ModelFiles(const fs::path& dir)
      : good(dir / "good.lkm"), missing(dir / "missing.lkm"), empty(dir / "empty.lkm"),
        truncated(dir / "truncated.lkm"), folder(dir / "folder.lkm"), png(dir / "picture.lkm"),
        garbage(dir / "garbage.lkm"), huge_dims(dir / "huge_dims.lkm"), big_image(dir / "big_image.lkm") {
    const std::vector<uint8_t> bytes = lk::serialize_model(lk::testing::seed000_decoder(1));
    const std::string text(bytes.begin(), bytes.end());
    write_bytes(good, text);
    write_bytes(empty, "");
    write_bytes(truncated, text.substr(0, text.size() / 2));
    fs::create_directories(folder);
    write_bytes(png, std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x1c\0\0\0\x1c\x08\x00\x00\x00\x00", 29));
    std::string noise(4096, '\0');
    uint32_t state = 12345;
    for (char& c : noise) c = static_cast<char>((state = state * 1664525u + 1013904223u) >> 24);
    write_bytes(garbage, noise);

    // A latent of INT32_MAX dimensions (the file's dimensions are int32).
    lk::ModelDescription huge = lk::testing::seed000_decoder(1);
    huge.tensors[static_cast<std::size_t>(huge.inputs[0])].shape = {int64_t{2147483647}};
    write_model(huge_dims, huge);

    // Within every per-tensor limit, but each image is 7001 x 7001 (196 MB of floats): a
    // transposed convolution of stride 1000 spreads an 8 x 8 seed.
    lk::ModelDescription big;
    const int z = big.add_activation("z", {2});
    const int w = big.add_constant("fc.weight", {64, 2}, std::vector<float>(128, 0.1f));
    const int fc = big.add_activation("fc", {64});
    const int seed = big.add_activation("seed", {8, 8, 1});
    const int tw = big.add_constant("tconv.weight", {1, 1, 1, 1}, {1.0f});
    const int tb = big.add_constant("tconv.bias", {1}, {0.0f});
    const int t = big.add_activation("tconv", {7001, 7001, 1});
    const int image = big.add_activation("image", {7001, 7001, 1});
    big.ops.push_back({lk::OpKind::fully_connected, {z, w, -1}, {fc}, {}});
    big.ops.push_back({lk::OpKind::reshape, {fc}, {seed}, {}});
    lk::Window window;
    window.stride_h = window.stride_w = 1000;
    big.ops.push_back({lk::OpKind::transpose_conv2d, {seed, tw, tb}, {t}, window});
    big.ops.push_back({lk::OpKind::sigmoid, {t}, {image}, {}});
    big.inputs = {z};
    big.outputs = {image};
    big.latent.groups.push_back({lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}});
    big.image = {7001, 7001, 1, lk::ValueRange::unit};
    write_model(big_image, big);
  }

  struct Bad {
    const fs::path* path;
    const char* what;
    const char* message;  // what stderr must say
  };
  std::vector<Bad> bad() const {
    return {{&missing, "a missing file", "cannot open model file"},
            {&empty, "an empty file", "0 bytes long"},
            {&truncated, "a truncated file", "truncated or corrupt"},
            {&folder, "a folder", "is a folder, not a file"},
            {&png, "a PNG file", "malformed model file"},
            {&garbage, "random bytes", "malformed model file"},
            {&huge_dims, "a latent of 2^31 - 1 dimensions", "has dimension 2147483647 (allowed 1..65536)"}};
  }
};

// Each latentkit-sample command, writing to `out` where it writes.
std::vector<std::string> sample_commands(const fs::path& out) {
  const std::string o = " -o " + quoted(out);
  return {"info", "info --graph", "grid 2x2" + o, "sample -n 4" + o, "decode --z 0,0" + o,
          "interpolate --from 0,0 --to 1,1 --steps 3" + o, "bench --batch 2 --runs 1"};
}

}  // namespace

TEST_CASE("latentkit-sample: hostile model files, for every command") {
  Scratch scratch("hostile_models");
  const ModelFiles models(scratch.dir);
  const fs::path out = scratch.dir / "out.png";
  for (const ModelFiles::Bad& bad : models.bad()) {
    for (const std::string& command : sample_commands(out)) {
      INFO(bad.what, ": latentkit-sample MODEL ", command);
      expect_refused(run(sample_cli + " " + quoted(*bad.path) + " " + command), bad.message);
      expect_no_output(out);
    }
  }
  // The same commands on the good file work: the refusals above are about the files.
  for (const std::string& command : sample_commands(out)) {
    const Run r = run(sample_cli + " " + quoted(models.good) + " " + command);
    INFO(command, "\n", r.output);
    CHECK(r.exit_code == 0);
    fs::remove(out);
  }
}

TEST_CASE("latentkit inspect: hostile model files") {
  Scratch scratch("hostile_inspect");
  const ModelFiles models(scratch.dir);
  for (const ModelFiles::Bad& bad : models.bad()) {
    INFO(bad.what);
    expect_refused(run(cli + " inspect " + quoted(*bad.path)), bad.message);
  }
  expect_refused(run(cli + " inspect"), "model is required");
  const Run good = run(cli + " inspect " + quoted(models.good));
  INFO(good.output);
  CHECK(good.exit_code == 0);
}

TEST_CASE("latentkit-sample: non-finite latents, empty grids, absurd counts") {
  Scratch scratch("hostile_numbers");
  const ModelFiles models(scratch.dir);
  const std::string model = sample_cli + " " + quoted(models.good) + " ";
  const fs::path out = scratch.dir / "out.png";
  const std::string o = " -o " + quoted(out);
  struct Case {
    std::string command, message;
  };
  const std::vector<Case> cases = {
      {"decode --z nan,1", "--z: 'nan' is not a finite number"},
      {"decode --z 1,-inf", "--z: '-inf' is not a finite number"},
      {"decode --z 1e39,0", "--z: '1e39' is not a number"},
      {"decode --z 1,,2", "--z: '' is not a number"},
      {"decode --z 1,", "--z: '' is not a number"},
      {"decode --z ''", "--z: '' is not a number"},
      {"decode --z 1,2,3", "has 3 values but the model's latent has 2"},
      {"decode --z 0,0 --z 1", "has 1 values but the model's latent has 2"},
      {"interpolate --from inf,0 --to 1,1", "--from: 'inf' is not a finite number"},
      {"interpolate --from 0,0 --to 1,NaN", "--to: 'NaN' is not a finite number"},
      {"interpolate --from 0,0 --to 1,1 --steps 1", "--steps"},
      {"interpolate --from 0,0 --to 1,1 --steps 100000", "--steps"},
      {"grid 5x5 --x-range nan,1", "--x-range: 'nan' is not a finite number"},
      {"grid 5x5 --y-range -1,inf", "--y-range: 'inf' is not a finite number"},
      {"grid 5x5 --x-range 1", "--x-range takes two numbers LO,HI"},
      {"grid 0x5", "grid shape '0x5' should be ROWSxCOLS, each 1..100"},
      {"grid 5x0", "grid shape '5x0' should be ROWSxCOLS"},
      {"grid 1000x1000", "grid shape '1000x1000' should be ROWSxCOLS"},
      {"grid 99999999999x1", "grid shape '99999999999x1' should be ROWSxCOLS"},
      {"grid 5x", "grid shape '5x' should be ROWSxCOLS"},
      {"grid 5x5x5", "grid shape '5x5x5' should be ROWSxCOLS"},
      {"grid 5x5 --gap -1", "--gap"},
      {"grid 5x5 --gap 100000", "--gap"},
      {"sample -n 0", "--count"},
      {"sample -n -1", "--count"},
      {"sample -n 100000000", "--count"},
      {"sample -n 99999999999999999999", "--count"},
      {"sample -n 10 --cols 0", "--cols"},
      {"sample -n 10 --cols 11", "--cols 11 is more than the 10 samples"},
      {"bench --batch 0", "--batch"},
      {"bench --batch 100000000", "--batch"},
      {"bench --runs 0", "--runs"},
  };
  for (const Case& c : cases) {
    const bool writes = c.command.rfind("bench", 0) != 0;
    INFO("latentkit-sample MODEL ", c.command);
    expect_refused(run(model + c.command + (writes ? o : "")), c.message);
    expect_no_output(out);
  }
  expect_refused(run(model + "grid" + o + " -- -5x5"), "grid shape '-5x5' should be ROWSxCOLS");
  expect_no_output(out);
  // 101 latents for one row.
  std::string many;
  for (int i = 0; i < 101; ++i) many += " --z 0,0";
  expect_refused(run(model + "decode" + many + o), "decode takes at most 100 latents");
  expect_no_output(out);
}

TEST_CASE("latentkit-sample: bad flags and arguments") {
  Scratch scratch("hostile_flags");
  const ModelFiles models(scratch.dir);
  const std::string model = quoted(models.good);
  const fs::path out = scratch.dir / "out.png";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"", "model is required"},
      {model, "A subcommand is required"},
      {model + " paint", "A subcommand is required"},
      {model + " info grid", "grid"},
      {model + " --bogus info", "--bogus"},
      {model + " info --bogus", "--bogus"},
      {"--threads 0 " + model + " info", "--threads"},
      {"--threads many " + model + " info", "--threads"},
      {"--threads 100000 " + model + " info", "--threads"},
      {"--backend gpu " + model + " info", "unknown backend 'gpu'"},
      {"--backend " + model + " info", "A subcommand is required"},
      {model + " decode -o " + quoted(out), "--z is required"},
      {model + " interpolate --from 0,0 -o " + quoted(out), "an end (--to or --to-image)"},
      {model + " sample --count many -o " + quoted(out), "--count"},
      {model + " grid 2x2 -o", "-o"},
      {model + " grid 2x2 -o ''", "the file name is empty"},
  };
  for (const Case& c : cases) {
    INFO("latentkit-sample ", c.args);
    expect_refused(run(sample_cli + " " + c.args), c.message);
    expect_no_output(out);
  }
}

TEST_CASE("latentkit-sample: outputs that cannot be written leave nothing behind") {
  Scratch scratch("hostile_outputs");
  const ModelFiles models(scratch.dir);
  const std::string grid = sample_cli + " " + quoted(models.good) + " grid 2x2 -o ";
  const fs::path a_file = scratch.dir / "a_file";
  write_bytes(a_file, "x");
  fs::create_directories(scratch.dir / "a_folder");

  expect_refused(run(grid + quoted(scratch.dir / "no_such_folder" / "g.png")), "does not exist");
  expect_no_output(scratch.dir / "no_such_folder" / "g.png");
  expect_refused(run(grid + quoted(a_file / "g.png")), "is not a folder");
  CHECK(read_text(a_file) == "x");
  expect_refused(run(grid + quoted(scratch.dir / "a_folder")), "is a folder; give a file name");
  CHECK(fs::is_empty(scratch.dir / "a_folder"));
  expect_refused(run(grid + "/proc/version"), "cannot write '/proc/version'");
  expect_refused(run(grid + "/dev/full"), "No space left on device");
  expect_dev_full_intact();

  // A second output that fails takes the first back.
  const fs::path png = scratch.dir / "g.png";
  expect_refused(run(sample_cli + " --save-latents " + quoted(scratch.dir / "nope" / "z.bin") + " " +
                     quoted(models.good) + " grid 2x2 -o " + quoted(png)),
                 "does not exist");
  expect_no_output(png);
  expect_refused(run(sample_cli + " --save-images /dev/full " + quoted(models.good) + " grid 2x2 -o " + quoted(png)),
                 "No space left on device");
  expect_no_output(png);
  expect_dev_full_intact();

  expect_refused_on_unwritable_file_systems(scratch.dir, "g.png", "latentkit-sample output",
                                            [&](const fs::path& out) { return grid + quoted(out); });
  {
    SmallFileSystem full(scratch.dir / "full", false);
    if (full.mounted) {
      // A raw output that does not fit takes back the PNG written just before it.
      expect_refused(run(sample_cli + " --save-latents " + quoted(full.dir / "z.bin") + " " + quoted(models.good) +
                         " sample -n 4 -o " + quoted(scratch.dir / "s.png")),
                     "No space left on device");
      expect_no_output(scratch.dir / "s.png");
      expect_no_output(full.dir / "z.bin");
    } else {
      skipped("--save-latents on a full file system");
    }
  }
}

TEST_CASE("latentkit-sample: huge images and --max-memory are refused with the figures, not by the OOM killer") {
  Scratch scratch("hostile_memory");
  const ModelFiles models(scratch.dir);
  const fs::path out = scratch.dir / "out.png";
  // An address-space limit turns a missed check into std::bad_alloc instead of the OOM killer;
  // not under AddressSanitizer, which reserves terabytes of address space at start.
  const bool can_limit = run("ulimit -v 300000 && " + sample_cli + " --help").exit_code == 0;
  if (!can_limit) MESSAGE("this latentkit-sample does not start under ulimit -v (a sanitizer build?): no address-space limit");
  const std::string limited = (can_limit ? "ulimit -v 4000000 && " : "") + sample_cli + " ";
  const Run info = run(limited + quoted(models.big_image) + " info");
  INFO(info.output);
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("7001x7001x1") != std::string::npos);
  for (const char* backend : {"xnnpack", "reference"}) {
    // Four images fit in a picture (14002 x 14002 pixels) but not in memory (4 x 374 MiB).
    for (const std::string& command : {"sample -n 4 -o " + quoted(out), "grid 2x2 -o " + quoted(out),
                                       std::string("bench --batch 4096 --runs 1")}) {
      INFO(backend, ": ", command);
      expect_refused(run(limited + "--backend " + backend + " " + quoted(models.big_image) + " " + command),
                     "out of memory");
      expect_no_output(out);
    }
    // A picture beyond the PNG limits is refused before anything is decoded.
    for (const std::string& command : {"sample -n 10000 -o " + quoted(out), "grid 100x100 -o " + quoted(out)}) {
      INFO(backend, ": ", command);
      expect_refused(run(limited + "--backend " + backend + " " + quoted(models.big_image) + " " + command),
                     "would be 700100x700100 pixels; the limit is 65536 pixels a side");
      expect_no_output(out);
    }
  }
  // Memory that runs out although the plan allowed it (here: a 300 MB address space) is a message
  // too, not std::bad_alloc escaping main.
  if (can_limit) {
    const Run starved = run("ulimit -v 300000 && " + sample_cli + " --backend reference " +
                            quoted(models.big_image) + " decode --z 0,0 -o " + quoted(out));
    expect_refused(starved, "out of memory");
    expect_no_output(out);
  }

  // A model that fits the default limit but not 64 MiB; a valid model and 1 KiB.
  expect_refused(run(limited + "--max-memory 64M " + quoted(models.big_image) + " info"), "out of memory");
  const Run tiny = run(limited + "--max-memory 1K " + quoted(models.good) + " grid 2x2 -o " + quoted(out));
  expect_refused(tiny, "out of memory");
  CHECK(tiny.err.find("KiB") != std::string::npos);  // the figures
  expect_no_output(out);
  const Run roomy = run(limited + "--max-memory 512M " + quoted(models.good) + " grid 2x2 -o " + quoted(out));
  INFO(roomy.output);
  CHECK(roomy.exit_code == 0);
  fs::remove(out);

  for (const char* size : {"12Q", "1KB", "0", "-5", "M", "", "1.5G", "99999999999G", "99999999999999999999"}) {
    INFO("--max-memory '", size, "'");
    expect_refused(run(sample_cli + " --max-memory '" + size + "' " + quoted(models.good) + " info"), "--max-memory");
  }
}

TEST_CASE("latentkit train: hostile data folders, run folders and flags") {
  Scratch scratch("hostile_train");
  const fs::path mnist = LATENTKIT_MNIST_DIR;
  const std::string quick = " --epochs 1 --train-limit 64 --test-limit 32 --batch 32 --eval-k 0 --no-report --threads 1";
  const std::string train = cli + " train cvae";

  // Data folders.
  const std::string real_images = read_text(mnist / "train-images-idx3-ubyte");
  const std::string real_labels = read_text(mnist / "train-labels-idx1-ubyte");
  auto data_folder = [&](const std::string& name, const std::string& images, const std::string& labels) {
    const fs::path dir = scratch.dir / name;
    fs::create_directories(dir);
    write_bytes(dir / "train-images-idx3-ubyte", images);
    write_bytes(dir / "train-labels-idx1-ubyte", labels);
    write_bytes(dir / "t10k-images-idx3-ubyte", images);
    write_bytes(dir / "t10k-labels-idx1-ubyte", labels);
    return dir;
  };
  // A valid IDX file of 2 images of 5x5 pixels (and its 2 labels).
  const std::string small_images = std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x05\0\0\0\x05", 16) + std::string(50, '\x7f');
  const std::string small_labels = std::string("\0\0\x08\x01\0\0\0\x02\x01\x02", 10);
  fs::create_directories(scratch.dir / "empty_data");
  fs::create_directories(scratch.dir / "folder_data" / "train-images-idx3-ubyte");
  struct DataCase {
    fs::path dir;
    std::string message;
  };
  const std::vector<DataCase> data_cases = {
      {scratch.dir / "no_data", "does not exist or is not a directory"},
      {scratch.dir / "empty_data", "no images file"},
      {scratch.dir / "folder_data", "no images file"},
      {data_folder("truncated_data", real_images.substr(0, 16 + 28 * 28 * 10 + 5), real_labels),
       "truncated: expected 47040000 bytes of data"},
      {data_folder("cut_magic", real_images.substr(0, 3), real_labels), "too short for an IDX header"},
      {data_folder("cut_header", real_images.substr(0, 6), real_labels), "header truncated"},
      {data_folder("text_data", "these are not images\n", real_labels), "bad magic"},
      {data_folder("huge_data", std::string("\0\0\x08\x03\0\0\xea\x60\0\0\xea\x60\0\0\xea\x60", 16), real_labels),
       "describe more than"},
      {data_folder("small_data", small_images, small_labels), "needs 28x28 images"},
  };
  for (const DataCase& c : data_cases) {
    INFO("--data ", c.dir.string());
    const fs::path out = scratch.dir / "run";
    expect_refused(run(train + " --data " + quoted(c.dir) + " --out " + quoted(out) + quick), c.message);
    expect_no_output(out);
  }

  // Run folders that cannot be created or written.
  const fs::path a_file = scratch.dir / "a_file";
  write_bytes(a_file, "x");
  const std::string data = " --data " + quoted(mnist);
  expect_refused(run(train + data + " --out " + quoted(a_file / "run") + quick), "Not a directory");
  expect_refused(run(train + data + " --out " + quoted(a_file) + quick), "is a file, not a folder");
  CHECK(read_text(a_file) == "x");
  expect_refused(run(train + data + " --out ''" + quick), "the run folder's name (--out) is empty");
  expect_refused(run(train + data + " --out /dev/full" + quick), "is a file, not a folder");
  expect_dev_full_intact();
  expect_refused(run(train + data + " --out /proc/latentkit_run" + quick), "/proc/latentkit_run");
  CHECK_FALSE(fs::exists("/proc/latentkit_run"));
  expect_refused_on_unwritable_file_systems(scratch.dir, "runs/cvae", "train --out", [&](const fs::path& out) {
    return train + data + " --out " + quoted(out) + quick;
  });

  // Flags.
  const fs::path out = scratch.dir / "run";
  struct FlagCase {
    std::string args, message;
  };
  const std::vector<FlagCase> flag_cases = {
      {"--lr nan", "'nan' is not a finite number above 0"},
      {"--lr inf", "'inf' is not a finite number above 0"},
      {"--lr -1", "--lr"},
      {"--lr 0", "'0' is not a finite number above 0"},
      {"--epochs 0", "--epochs"},
      {"--batch 0", "--batch"},
      {"--batch 99999999999999", "--batch"},
      {"--latent 0", "--latent"},
      {"--train-limit -5", "--train-limit"},
      {"--schedule forever", "--schedule"},
      {"--binarize maybe", "--binarize"},
      {"--threads -1", "--threads"},
      {"--bogus", "--bogus"},
  };
  for (const FlagCase& c : flag_cases) {
    INFO("train ", c.args);
    expect_refused(run(train + data + " --out " + quoted(out) + " " + c.args), c.message);
    expect_no_output(out);
  }
  expect_refused(run(train + " --out " + quoted(out) + " --resume --lr 0.1"), "drop --lr");
  expect_refused(run(train + " --out " + quoted(out) + " --resume"), "no checkpoint at");
  expect_refused(run(cli + " train gan --out " + quoted(out)), "gan");
  expect_refused(run(cli), "A subcommand is required");
  expect_refused(run(cli + " fly"), "A subcommand is required");
  expect_no_output(out);
}

TEST_CASE("latentkit export and eval: hostile runs, checkpoints, data and outputs") {
  Scratch scratch("hostile_export");
  // Inputs that are not checkpoints need no trained run.
  const fs::path empty_run = scratch.dir / "empty_run";
  fs::create_directories(empty_run);
  const fs::path empty_checkpoint = scratch.dir / "empty_checkpoint";
  fs::create_directories(empty_checkpoint);
  write_bytes(empty_checkpoint / "checkpoint.pt", "");
  const fs::path folder_checkpoint = scratch.dir / "folder_checkpoint";
  fs::create_directories(folder_checkpoint / "checkpoint.pt");
  const fs::path text = scratch.dir / "notes.pt";
  write_bytes(text, "not a checkpoint\n");
  const fs::path fake_zip = scratch.dir / "fake_zip.pt";
  write_bytes(fake_zip, std::string("PK\x03\x04", 4) + std::string(2000, '\x55'));
  const fs::path model = scratch.dir / "model.lkm";
  write_model(model, lk::testing::seed000_decoder(1));

  Journey& j = journey();
  INFO(j.train.output);
  REQUIRE(j.train.exit_code == 0);
  const fs::path truncated = scratch.dir / "truncated.pt";
  {
    const std::string bytes = read_text(j.dir / "run" / "checkpoint.pt");
    write_bytes(truncated, bytes.substr(0, bytes.size() / 2));
  }
  struct InputCase {
    fs::path path;
    std::string message;
  };
  const std::vector<InputCase> inputs = {
      {scratch.dir / "no_run", "no checkpoint at"},
      {empty_run, "no checkpoint at"},
      {empty_checkpoint, "is not a readable latentkit checkpoint"},
      {folder_checkpoint, "is a folder, not a file"},
      {text, "is not a readable latentkit checkpoint"},
      {fake_zip, "is not a readable latentkit checkpoint"},
      {model, "is not a readable latentkit checkpoint"},
      {truncated, "is not a readable latentkit checkpoint"},
  };
  const fs::path out = scratch.dir / "out.lkm";
  for (const InputCase& c : inputs) {
    INFO("run ", c.path.string());
    expect_refused(run(cli + " export " + quoted(c.path) + " -o " + quoted(out)), c.message);
    expect_no_output(out);
    expect_refused(run(cli + " eval " + quoted(c.path) + " --k 2 --limit 10 --threads 1"), c.message);
  }

  // Outputs, from the good run.
  const std::string exporter = cli + " export " + quoted(j.dir / "run") + " -o ";
  const fs::path a_file = scratch.dir / "a_file";
  write_bytes(a_file, "x");
  fs::create_directories(scratch.dir / "a_folder");
  expect_refused(run(exporter + quoted(scratch.dir / "no_such_folder" / "m.lkm")), "does not exist");
  expect_refused(run(exporter + quoted(a_file / "m.lkm")), "is not a folder");
  expect_refused(run(exporter + quoted(scratch.dir / "a_folder")), "is a folder; give a file name");
  CHECK(fs::is_empty(scratch.dir / "a_folder"));
  expect_refused(run(exporter + "''"), "the file name is empty");
  expect_refused(run(exporter + "/dev/full"), "No space left on device");
  expect_dev_full_intact();
  expect_refused(run(exporter + "/proc/version"), "cannot write '/proc/version'");
  expect_refused(run(exporter + quoted(out) + " --quant int4"), "int4");
  expect_no_output(out);
  expect_refused_on_unwritable_file_systems(scratch.dir, "m.lkm", "export",
                                            [&](const fs::path& out) { return exporter + quoted(out); });

  // Data: int8 calibration and eval read a dataset.
  const fs::path cut = scratch.dir / "cut_data";
  fs::create_directories(cut);
  for (const char* name : {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"}) {
    const std::string bytes = read_text(fs::path(LATENTKIT_MNIST_DIR) / name);
    write_bytes(cut / name, bytes.substr(0, bytes.size() / 3));
  }
  for (const char* name : {"train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"}) {
    fs::copy_file(fs::path(LATENTKIT_MNIST_DIR) / name, cut / name);
  }
  expect_refused(run(exporter + quoted(out) + " --quant int8 --data " + quoted(cut)), "truncated");
  expect_no_output(out);
  const std::string eval = cli + " eval " + quoted(j.dir / "run") + " --threads 1 ";
  expect_refused(run(eval + "--k 2 --limit 10 --data " + quoted(cut)), "truncated");
  expect_refused(run(eval + "--k 2 --limit 10 --data " + quoted(scratch.dir / "no_data")), "no_data");
  // Valid IDX files of 5x5 images.
  const fs::path small = scratch.dir / "small_data";
  fs::create_directories(small);
  for (const char* split : {"train", "t10k"}) {
    write_bytes(small / (std::string(split) + "-images-idx3-ubyte"),
                std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x05\0\0\0\x05", 16) + std::string(50, '\x7f'));
    write_bytes(small / (std::string(split) + "-labels-idx1-ubyte"), std::string("\0\0\x08\x01\0\0\0\x02\x01\x02", 10));
  }
  expect_refused(run(eval + "--k 2 --data " + quoted(small)), "needs 28x28 images");
  expect_refused(run(exporter + quoted(out) + " --quant int8 --data " + quoted(small)), "needs 28x28 images");
  expect_no_output(out);
  expect_refused(run(eval + "--k 0"), "--k");
  expect_refused(run(eval + "--k 100000000"), "--k");
  expect_refused(run(eval + "--limit -1"), "--limit");
  expect_refused(run(eval + "--binarize sometimes"), "--binarize");
  expect_refused(run(cli + " eval"), "run is required");
  expect_refused(run(cli + " export " + quoted(j.dir / "run")), "--output is required");
}
