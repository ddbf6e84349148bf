#include "latentkit/trainer/mnist.h"

#include <filesystem>
#include <stdexcept>
#include <utility>

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
  throw std::runtime_error("MNIST directory '" + dir.string() + "': no " + what +
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
  if (images.dims.size() != 3) {
    throw std::runtime_error("images file '" + images_path + "' has " +
                             std::to_string(images.dims.size()) + " dimensions (" +
                             shape_text(images.dims) +
                             "); expected 3 (count x height x width)");
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
  if (limit != 0 && limit < out.count) out.count = limit;
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  out.pixels.resize(static_cast<std::size_t>(out.count * out.height * out.width));
  out.labels.resize(static_cast<std::size_t>(out.count));
  out.pixels.shrink_to_fit();
  out.labels.shrink_to_fit();
  return out;
}

ImageDataset load_mnist_dir(const std::string& dir, Split split, std::int64_t limit) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) {
    throw std::runtime_error("MNIST directory '" + dir +
                             "' does not exist or is not a directory (tools/setup.sh puts "
                             "MNIST in data/mnist)");
  }
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images = find_idx_file(root, prefix + "-images-idx3-ubyte", "images");
  const std::string labels = find_idx_file(root, prefix + "-labels-idx1-ubyte", "labels");
  return load_idx_pair(images, labels, limit);
}

}  // namespace latentkit::trainer
