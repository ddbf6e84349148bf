#include "latentkit/trainer/mnist.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "latentkit/atomic_file.h"
#include "latentkit/trainer/coloured_mnist.h"
#include "latentkit/trainer/idx_reader.h"

namespace latentkit::trainer {
namespace {

std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i != 0) out += " x ";
    out += std::to_string(dims[i]);
  }
  return out;
}

// The path of `name` or `name.gz` in `dir`; throws if neither is a file.
std::string find_idx_file(const std::filesystem::path& dir, const std::string& name,
                          const char* what) {
  for (const std::string& candidate : {name, name + ".gz"}) {
    const std::filesystem::path p = dir / candidate;
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p.string();
  }
  throw std::runtime_error("dataset folder '" + dir.string() + "': no " + what +
                           " file; looked for " + name + " and " + name +
                           ".gz (tools/setup.sh puts MNIST in data/mnist)");
}

}  // namespace

ImageDataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                           std::int64_t limit) {
  if (limit < 0) {
    throw std::invalid_argument("load_idx_pair: limit must be 0 (all) or positive, got " +
                                std::to_string(limit));
  }
  IdxArray images = read_idx(images_path);
  const bool rgb = images.dims.size() == 4 && images.dims[3] == 3;
  if (images.dims.size() != 3 && !rgb) {
    throw std::runtime_error("images file '" + images_path + "' has " +
                             std::to_string(images.dims.size()) + " dimensions (" +
                             shape_text(images.dims) +
                             "); expected 3 (count x height x width) or 4 (count x height x width x 3)");
  }
  IdxArray labels = read_idx(labels_path);
  if (labels.dims.size() != 1) {
    throw std::runtime_error("labels file '" + labels_path + "' has " +
                             std::to_string(labels.dims.size()) + " dimensions (" +
                             shape_text(labels.dims) + "); expected 1 (count)");
  }
  if (images.dims[0] != labels.dims[0]) {
    throw std::runtime_error("images file '" + images_path + "' holds " +
                             std::to_string(images.dims[0]) + " images but labels file '" +
                             labels_path + "' holds " + std::to_string(labels.dims[0]) +
                             " labels");
  }

  ImageDataset out;
  out.count = images.dims[0];
  out.height = images.dims[1];
  out.width = images.dims[2];
  out.channels = rgb ? 3 : 1;
  if (limit != 0 && limit < out.count) out.count = limit;
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  out.pixels.resize(static_cast<std::size_t>(out.count * out.image_bytes()));
  out.labels.resize(static_cast<std::size_t>(out.count));
  out.pixels.shrink_to_fit();
  out.labels.shrink_to_fit();
  return out;
}

ImageDataset load_mnist_dir(const std::string& dir, Split split, std::int64_t limit) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) {
    throw std::runtime_error("dataset folder '" + dir +
                             "' does not exist or is not a directory (datasets by name: mnist, "
                             "fashion-mnist; tools/setup.sh puts MNIST in data/mnist)");
  }
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images = find_idx_file(root, prefix + "-images-idx3-ubyte", "images");
  const std::string labels = find_idx_file(root, prefix + "-labels-idx1-ubyte", "labels");
  ImageDataset data = load_idx_pair(images, labels, limit);
  // The colour labels of a coloured folder (write_mnist_dir), when there are any.
  for (const std::string& name : {prefix + "-colours-idx1-ubyte", prefix + "-colours-idx1-ubyte.gz"}) {
    const std::filesystem::path path = root / name;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    IdxArray colours = read_idx(path.string());
    if (colours.dims.size() != 1 || colours.dims[0] < data.count) {
      throw std::runtime_error("colours file '" + path.string() + "' holds " + shape_text(colours.dims) +
                               " values; expected one per image (" + std::to_string(data.count) + ")");
    }
    colours.data.resize(static_cast<std::size_t>(data.count));
    data.colours = std::move(colours.data);
    break;
  }
  return data;
}

ImageDataset load_dataset(const std::string& source, Split split, std::int64_t limit) {
  if (is_coloured_mnist_name(source)) return load_coloured_mnist(source, resolve_dataset("mnist"), split, limit);
  return load_mnist_dir(source, split, limit);
}

namespace {

// One IDX file of unsigned bytes with these dimensions.
std::vector<std::uint8_t> idx_bytes(const std::vector<std::int64_t>& dims, const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (const std::int64_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>((d >> shift) & 0xff));
  }
  bytes.insert(bytes.end(), data, data + size);
  return bytes;
}

}  // namespace

void write_mnist_dir(const ImageDataset& data, const std::string& dir, Split split) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path root(dir);
  const std::string prefix = split == Split::train ? "train" : "t10k";
  std::vector<std::int64_t> image_dims = {data.count, data.height, data.width};
  if (data.channels != 1) image_dims.push_back(data.channels);
  write_file_atomically((root / (prefix + "-images-idx3-ubyte")).string(),
                        idx_bytes(image_dims, data.pixels.data(), data.pixels.size()));
  write_file_atomically((root / (prefix + "-labels-idx1-ubyte")).string(),
                        idx_bytes({data.count}, data.labels.data(), data.labels.size()));
  if (!data.colours.empty()) {
    write_file_atomically((root / (prefix + "-colours-idx1-ubyte")).string(),
                          idx_bytes({data.count}, data.colours.data(), data.colours.size()));
  }
}

std::string resolve_dataset(const std::string& name_or_dir) {
  namespace fs = std::filesystem;
  if (is_coloured_mnist_name(name_or_dir)) {
    resolve_dataset("mnist");  // what it is made from must be there
    return name_or_dir;
  }
  if (name_or_dir != "mnist" && name_or_dir != "fashion-mnist") return name_or_dir;
  std::vector<std::string> candidates;
  if (const char* root = std::getenv("LATENTKIT_DATA"); root != nullptr && *root != '\0') {
    candidates.push_back((fs::path(root) / name_or_dir).string());
  }
  if (name_or_dir == "mnist") {
    candidates.push_back("data/mnist");
  } else {
    candidates.push_back("/usr/share/datasets/fashion-mnist");
  }
  std::string tried;
  for (const std::string& dir : candidates) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return dir;
    tried += (tried.empty() ? "" : ", ") + dir;
  }
  throw std::runtime_error("dataset '" + name_or_dir + "' not found (looked in " + tried + "); " +
                           (name_or_dir == "mnist"
                                ? "tools/setup.sh puts MNIST in data/mnist"
                                : "install the Debian package dataset-fashion-mnist (tools/setup.sh does)") +
                           ", or give the folder with --data");
}

std::vector<std::string> class_names(const std::string& dataset_dir) {
  std::filesystem::path dir = std::filesystem::path(dataset_dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();  // "folder/"
  const std::string name = dir.filename().string();
  if (name.find("fashion") != std::string::npos) {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  }
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

}  // namespace latentkit::trainer
