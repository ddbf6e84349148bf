// The judge (seed 004, issue #20): a small classifier of a coloured digit's digit and colour that
// the project trains itself, so that "the joint model draws a red 7 when asked" is a measured
// share, not a look at a picture. `latentkit-judge control` runs it on a model's samples.
//
//   image 3x28x28 in [0, 1] -> Conv 32 (3x3, pad 1, ReLU) -> MaxPool 2 -> 14x14x32
//                           -> Conv 64 (3x3, pad 1, ReLU) -> MaxPool 2 -> 7x7x64 -> flatten
//                           -> Dense 128 (ReLU) -> two heads: 10 digits, 10 palette colours
//
// It learns from the coloured-mnist training images (the six colours the joint models see) and
// from the same digits painted in any of the ten palette colours with another seed, so that every
// colour of the colour-transfer sets is known to it and no colour says anything about the digit
// (coloured-mnist-a / -b, where each digit has its own colour, would teach it to read the digit
// from the colour).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/mnist.h"

namespace latentkit::trainer {

inline constexpr int64_t kJudgeSide = 28, kJudgeChannels = 3, kJudgeDigits = 10;

struct JudgeLogits {
  torch::Tensor digit;   // [N, kJudgeDigits]
  torch::Tensor colour;  // [N, palette size]
};

class JudgeImpl : public torch::nn::Module {
 public:
  JudgeImpl();
  // images: [N, 3, 28, 28] floats in [0, 1].
  JudgeLogits forward(const torch::Tensor& images);
  // The 128 hidden units both heads read: the feature space sample_quality.h measures distances in.
  torch::Tensor features(const torch::Tensor& images);
  JudgeLogits heads(const torch::Tensor& features);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear hidden_{nullptr}, digit_head_{nullptr}, colour_head_{nullptr};
};
TORCH_MODULE(Judge);

// What the judge says of each image: a digit 0..9 and a palette index.
struct Verdicts {
  std::vector<int> digits, colours;
};
// images: [N, 3, 28, 28] floats in [0, 1]; evaluated in eval mode without gradients, in batches.
// Throws std::invalid_argument naming the shape when it is not that.
Verdicts classify(Judge& judge, const torch::Tensor& images);
// The same for `count` images as the runtime decodes them: HWC floats in [0, 1], one after another.
Verdicts classify_hwc(Judge& judge, const float* images, int64_t count);

// What the judge reads in `images` ([N, C, 28, 28] floats in [0, 1]; C = 1, grey, is read as
// the same grey in all three channels), in eval mode without gradients, in batches: the hidden
// features [N, 128] and the digit probabilities [N, 10], both double.
struct JudgeReading {
  torch::Tensor features, digit_probabilities;
};
JudgeReading read_images(Judge& judge, const torch::Tensor& images);

struct JudgeAccuracy {
  double digit = 0, colour = 0;  // shares of the images judged right
  int64_t images = 0;
};
// Against the labels of a coloured dataset (channels 3, 28 x 28, with colours); throws
// std::invalid_argument when it is not one.
JudgeAccuracy judge_accuracy(Judge& judge, const ImageDataset& data);

struct JudgeTrainOptions {
  std::string mnist_dir;      // the grey MNIST the coloured sets are made from (resolve_dataset("mnist"))
  int epochs = 3;
  int64_t train_limit = 0;    // the first N training digits, each seen twice (two colourings); 0: all
  int64_t test_limit = 0;     // the first N test images of each test set; 0: all
  int64_t batch_size = 128;
  double learning_rate = 2e-3;
  uint64_t seed = 1;
  bool progress = false;      // a line per epoch on stderr
};

struct JudgeTrainResult {
  Judge judge{nullptr};
  JudgeAccuracy coloured_mnist;  // on the coloured-mnist test set (six colours)
  JudgeAccuracy all_colours;     // on the test digits painted in all ten colours
  double seconds = 0;            // training and measuring
};

// Adam on the two heads' summed cross-entropies, the learning rate cosine-decayed to 0. The same options and thread settings give the
// same judge. Throws std::invalid_argument for options out of range, std::runtime_error when
// MNIST cannot be read.
JudgeTrainResult train_judge(const JudgeTrainOptions& options);

// The judge file: a libtorch archive with a format tag, a version and the test accuracies it was
// trained to, written to a temporary file and renamed, so a reader never sees half of one.
void save_judge(const std::string& path, Judge& judge, const JudgeAccuracy& coloured_mnist,
                const JudgeAccuracy& all_colours);

struct LoadedJudge {
  Judge judge{nullptr};
  JudgeAccuracy coloured_mnist, all_colours;  // as recorded at training
};
// Throws std::runtime_error naming the file when it is missing, not a libtorch archive, or not a
// judge (another archive, a checkpoint, a newer version).
LoadedJudge load_judge(const std::string& path);

// The coloured test sets the judge is measured on: coloured-mnist's, and the test digits in any of
// the ten colours (the same colouring as training, the test split's draws).
ImageDataset all_colours_dataset(const ImageDataset& grey, Split split);

}  // namespace latentkit::trainer
