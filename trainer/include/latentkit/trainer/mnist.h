#pragma once
// MNIST-style image datasets (MNIST, Fashion-MNIST) from pairs of IDX files. Torch-free: the
// trainer turns an ImageDataset into tensors.
#include <cstdint>
#include <string>
#include <vector>

namespace latentkit::trainer {

// `count` images of height x width x channels bytes (0..255; channels 1 for grey, 3 for RGB),
// row-major with the channels innermost (HWC, as the runtime's images), with one label each and,
// for a coloured dataset (coloured_mnist.h), the index of each image's colour in its palette.
struct ImageDataset {
  std::int64_t count = 0, height = 0, width = 0, channels = 1;
  std::vector<std::uint8_t> pixels;   // count * height * width * channels
  std::vector<std::uint8_t> labels;   // count
  std::vector<std::uint8_t> colours;  // count, or empty when the images have no colour labels

  std::int64_t image_bytes() const { return height * width * channels; }
};

// Reads an images file (3-D IDX: count x height x width, or 4-D: count x height x width x 3 for
// RGB) and a labels file (1-D IDX: count), raw or gzip. `limit` = 0 keeps every image; otherwise the first min(limit, count) are kept.
// Label values are not checked (any byte is a label). Throws std::runtime_error when a file
// cannot be read or the two do not match, std::invalid_argument for a negative limit.
ImageDataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                           std::int64_t limit = 0);

enum class Split { train, test };

// Loads a split from a directory with the standard file names: train-images-idx3-ubyte +
// train-labels-idx1-ubyte, or t10k-images-idx3-ubyte + t10k-labels-idx1-ubyte, each raw or with
// ".gz" (raw preferred when both exist). Fashion-MNIST uses the same names. A coloured folder
// (`latentkit data`) also has train-colours-idx1-ubyte / t10k-colours-idx1-ubyte, read into
// `colours`. Throws std::runtime_error naming the directory and the files looked for when they are
// absent.
ImageDataset load_mnist_dir(const std::string& dir, Split split, std::int64_t limit = 0);

// A dataset as `--data` names it, once resolve_dataset has resolved it: a folder (load_mnist_dir)
// or a coloured MNIST generated in memory from MNIST (coloured_mnist.h: "coloured-mnist",
// "coloured-mnist-a", "coloured-mnist-b").
ImageDataset load_dataset(const std::string& source, Split split, std::int64_t limit = 0);

// Writes `data` as the IDX files load_mnist_dir reads (images 3-D for grey, 4-D for RGB; labels;
// colours when it has them) into `dir`, created if absent; each file atomically.
void write_mnist_dir(const ImageDataset& data, const std::string& dir, Split split);

// The folder a dataset named on the command line lives in:
//   "mnist"          data/mnist under the current folder (tools/setup.sh puts it there), or
//                    $LATENTKIT_DATA/mnist when that variable is set;
//   "fashion-mnist"  $LATENTKIT_DATA/fashion-mnist, else /usr/share/datasets/fashion-mnist (the
//                    Debian package dataset-fashion-mnist, gzipped IDX files);
//   "coloured-mnist", "coloured-mnist-a", "coloured-mnist-b"
//                    returned as given (load_dataset generates them) once MNIST is found;
//   anything else    a folder path, returned as given (write ./mnist for a folder named mnist).
// Throws std::runtime_error naming the places looked in when a named dataset is not there.
std::string resolve_dataset(const std::string& name_or_dir);

// The class names of a dataset folder's labels ("0".."9" for MNIST, "T-shirt/top".. for
// Fashion-MNIST, recognised by the folder's name).
std::vector<std::string> class_names(const std::string& dataset_dir);

}  // namespace latentkit::trainer
