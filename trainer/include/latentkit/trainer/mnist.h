#pragma once
// MNIST-style image datasets (MNIST, Fashion-MNIST) from pairs of IDX files. Torch-free: the
// trainer turns an ImageDataset into tensors.
#include <cstdint>
#include <string>
#include <vector>

namespace latentkit::trainer {

// `count` greyscale images of height x width bytes (0..255), row-major, with one label each.
struct ImageDataset {
  std::int64_t count = 0, height = 0, width = 0;
  std::vector<std::uint8_t> pixels;  // count * height * width
  std::vector<std::uint8_t> labels;  // count
};

// Reads an images file (3-D IDX: count x height x width) and a labels file (1-D IDX: count), raw
// or gzip. `limit` = 0 keeps every image; otherwise the first min(limit, count) are kept.
// Label values are not checked (any byte is a label). Throws std::runtime_error when a file
// cannot be read or the two do not match, std::invalid_argument for a negative limit.
ImageDataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                           std::int64_t limit = 0);

enum class Split { train, test };

// Loads a split from a directory with the standard file names: train-images-idx3-ubyte +
// train-labels-idx1-ubyte, or t10k-images-idx3-ubyte + t10k-labels-idx1-ubyte, each raw or with
// ".gz" (raw preferred when both exist). Fashion-MNIST uses the same names. Throws
// std::runtime_error naming the directory and the files looked for when they are absent.
ImageDataset load_mnist_dir(const std::string& dir, Split split, std::int64_t limit = 0);

// The folder a dataset named on the command line lives in:
//   "mnist"          data/mnist under the current folder (tools/setup.sh puts it there), or
//                    $LATENTKIT_DATA/mnist when that variable is set;
//   "fashion-mnist"  $LATENTKIT_DATA/fashion-mnist, else /usr/share/datasets/fashion-mnist (the
//                    Debian package dataset-fashion-mnist, gzipped IDX files);
//   anything else    a folder path, returned as given (write ./mnist for a folder named mnist).
// Throws std::runtime_error naming the places looked in when a named dataset is not there.
std::string resolve_dataset(const std::string& name_or_dir);

// The class names of a dataset folder's labels ("0".."9" for MNIST, "T-shirt/top".. for
// Fashion-MNIST, recognised by the folder's name).
std::vector<std::string> class_names(const std::string& dataset_dir);

}  // namespace latentkit::trainer
