#include "latentkit/trainer/judge.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "latentkit/atomic_file.h"
#include "latentkit/trainer/coloured_mnist.h"

namespace latentkit::trainer {

namespace {

constexpr int64_t kConv1Channels = 32, kConv2Channels = 64, kHidden = 128, kPool = 2;
constexpr int64_t kFlat = kConv2Channels * (kJudgeSide / 4) * (kJudgeSide / 4);
constexpr int64_t kClassifyBatch = 500;

// The file's tag and version: what tells a judge from any other libtorch archive (a checkpoint
// loads as an archive too, and would fail later, deep in Module::load, with a message about a
// missing parameter).
constexpr const char* kFormatTag = "latentkit-judge";
constexpr int64_t kFormatVersion = 1;

// The seed of the ten-colour painting: another stream than coloured-mnist's (seed 4), so that a
// digit is seen in two colours.
constexpr uint64_t kAllColoursSeed = 20;

int64_t palette_size() { return static_cast<int64_t>(colour_palette().size()); }

// [N, 3, 28, 28] bytes of a coloured dataset: kept as bytes (a quarter of the floats' memory for
// the 120000 training images) and scaled a batch at a time.
torch::Tensor nchw_bytes(const ImageDataset& data) {
  if (data.channels != kJudgeChannels || data.height != kJudgeSide || data.width != kJudgeSide) {
    throw std::invalid_argument("the judge reads 28 x 28 RGB images, not " + std::to_string(data.height) + " x " +
                                std::to_string(data.width) + " x " + std::to_string(data.channels));
  }
  if (data.colours.size() != static_cast<std::size_t>(data.count)) {
    throw std::invalid_argument("the judge needs images with colour labels (a coloured MNIST)");
  }
  auto bytes = torch::from_blob(const_cast<uint8_t*>(data.pixels.data()),
                                {data.count, data.height, data.width, data.channels}, torch::kUInt8);
  return bytes.permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor label_tensor(const std::vector<uint8_t>& values) {
  return torch::from_blob(const_cast<uint8_t*>(values.data()), {static_cast<int64_t>(values.size())}, torch::kUInt8)
      .to(torch::kLong);
}

torch::Tensor to_unit(const torch::Tensor& bytes) { return bytes.to(torch::kFloat32).div_(255.0f); }

void check_images(const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != kJudgeChannels || images.size(2) != kJudgeSide ||
      images.size(3) != kJudgeSide) {
    std::ostringstream shape;
    shape << images.sizes();
    throw std::invalid_argument("the judge reads [N, 3, 28, 28] images, not " + shape.str());
  }
}

void check_options(const JudgeTrainOptions& o) {
  if (o.epochs < 1) throw std::invalid_argument("the judge trains at least 1 epoch, not " + std::to_string(o.epochs));
  if (o.batch_size < 1) throw std::invalid_argument("batch size " + std::to_string(o.batch_size) + " is below 1");
  if (o.train_limit < 0 || o.test_limit < 0) throw std::invalid_argument("a negative image limit");
  if (!(o.learning_rate > 0)) throw std::invalid_argument("the learning rate must be above 0");
}

}  // namespace

JudgeImpl::JudgeImpl() {
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(kJudgeChannels, kConv1Channels, 3).padding(1)));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(kConv1Channels, kConv2Channels, 3).padding(1)));
  hidden_ = register_module("hidden", torch::nn::Linear(kFlat, kHidden));
  digit_head_ = register_module("digit_head", torch::nn::Linear(kHidden, kJudgeDigits));
  colour_head_ = register_module("colour_head", torch::nn::Linear(kHidden, palette_size()));
}

torch::Tensor JudgeImpl::features(const torch::Tensor& images) {
  torch::Tensor x = torch::max_pool2d(torch::relu(conv1_->forward(images)), kPool);
  x = torch::max_pool2d(torch::relu(conv2_->forward(x)), kPool);
  return torch::relu(hidden_->forward(x.flatten(1)));
}

JudgeLogits JudgeImpl::heads(const torch::Tensor& features) {
  return {digit_head_->forward(features), colour_head_->forward(features)};
}

JudgeLogits JudgeImpl::forward(const torch::Tensor& images) { return heads(features(images)); }

Verdicts classify(Judge& judge, const torch::Tensor& images) {
  check_images(images);
  torch::NoGradGuard no_grad;
  const bool was_training = judge->is_training();
  judge->eval();
  Verdicts verdicts;
  const int64_t n = images.size(0);
  verdicts.digits.reserve(static_cast<std::size_t>(n));
  verdicts.colours.reserve(static_cast<std::size_t>(n));
  for (int64_t start = 0; start < n; start += kClassifyBatch) {
    const JudgeLogits logits = judge->forward(images.slice(0, start, std::min(n, start + kClassifyBatch)));
    const torch::Tensor digits = logits.digit.argmax(1).to(torch::kInt32).contiguous();
    const torch::Tensor colours = logits.colour.argmax(1).to(torch::kInt32).contiguous();
    verdicts.digits.insert(verdicts.digits.end(), digits.data_ptr<int>(), digits.data_ptr<int>() + digits.numel());
    verdicts.colours.insert(verdicts.colours.end(), colours.data_ptr<int>(), colours.data_ptr<int>() + colours.numel());
  }
  judge->train(was_training);
  return verdicts;
}

JudgeReading read_images(Judge& judge, const torch::Tensor& images) {
  const bool grey = images.dim() == 4 && images.size(1) == 1;
  const torch::Tensor rgb = grey ? images.expand({images.size(0), kJudgeChannels, images.size(2), images.size(3)})
                                 : images;
  check_images(rgb);
  torch::NoGradGuard no_grad;
  const bool was_training = judge->is_training();
  judge->eval();
  std::vector<torch::Tensor> features, probabilities;
  const int64_t n = rgb.size(0);
  for (int64_t start = 0; start < n; start += kClassifyBatch) {
    const torch::Tensor f = judge->features(rgb.slice(0, start, std::min(n, start + kClassifyBatch)).contiguous());
    features.push_back(f.to(torch::kFloat64));
    probabilities.push_back(torch::softmax(judge->heads(f).digit, 1).to(torch::kFloat64));
  }
  judge->train(was_training);
  if (n == 0) return {torch::zeros({0, kHidden}, torch::kFloat64), torch::zeros({0, kJudgeDigits}, torch::kFloat64)};
  return {torch::cat(features), torch::cat(probabilities)};
}

Verdicts classify_hwc(Judge& judge, const float* images, int64_t count) {
  const torch::Tensor hwc = torch::from_blob(const_cast<float*>(images), {count, kJudgeSide, kJudgeSide, kJudgeChannels},
                                             torch::kFloat32);
  return classify(judge, hwc.permute({0, 3, 1, 2}).contiguous());
}

JudgeAccuracy judge_accuracy(Judge& judge, const ImageDataset& data) {
  const torch::Tensor bytes = nchw_bytes(data);
  JudgeAccuracy accuracy;
  accuracy.images = data.count;
  if (data.count == 0) return accuracy;
  int64_t digits_right = 0, colours_right = 0;
  for (int64_t start = 0; start < data.count; start += kClassifyBatch) {
    const int64_t end = std::min(data.count, start + kClassifyBatch);
    const Verdicts v = classify(judge, to_unit(bytes.slice(0, start, end)));
    for (int64_t i = start; i < end; ++i) {
      digits_right += v.digits[static_cast<std::size_t>(i - start)] == data.labels[static_cast<std::size_t>(i)];
      colours_right += v.colours[static_cast<std::size_t>(i - start)] == data.colours[static_cast<std::size_t>(i)];
    }
  }
  accuracy.digit = static_cast<double>(digits_right) / static_cast<double>(data.count);
  accuracy.colour = static_cast<double>(colours_right) / static_cast<double>(data.count);
  return accuracy;
}

ImageDataset all_colours_dataset(const ImageDataset& grey, Split split) {
  ColouringOptions colouring;
  colouring.seed = kAllColoursSeed;
  colouring.colours = static_cast<int>(palette_size());
  return colour_randomly(grey, split, colouring);
}

JudgeTrainResult train_judge(const JudgeTrainOptions& options) {
  check_options(options);
  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(options.seed);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);

  const ImageDataset grey = load_mnist_dir(options.mnist_dir, Split::train, options.train_limit);
  const ImageDataset six = colour_randomly(grey, Split::train);
  const ImageDataset ten = all_colours_dataset(grey, Split::train);
  const torch::Tensor images = torch::cat({nchw_bytes(six), nchw_bytes(ten)});
  const torch::Tensor digits = torch::cat({label_tensor(six.labels), label_tensor(ten.labels)});
  const torch::Tensor colours = torch::cat({label_tensor(six.colours), label_tensor(ten.colours)});
  const int64_t n = images.size(0);

  JudgeTrainResult result;
  result.judge = Judge();
  Judge& judge = result.judge;
  torch::optim::Adam optimizer(judge->parameters(), torch::optim::AdamOptions(options.learning_rate));
  judge->train();
  // The learning rate falls along a half cosine to 0 by the last step: at a constant rate the
  // last epoch's loss goes up and down by half its size, and the judge would be whichever
  // moment the run happened to stop at.
  const int64_t steps_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  const double total_steps = static_cast<double>(steps_per_epoch * options.epochs);
  int64_t step = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const torch::Tensor order = torch::randperm(n, generator, torch::kLong);
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t b = 0; b < n; b += options.batch_size) {
      const torch::Tensor index = order.slice(0, b, std::min(n, b + options.batch_size));
      const JudgeLogits logits = judge->forward(to_unit(images.index_select(0, index)));
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits.digit, digits.index_select(0, index)) +
                                 torch::nn::functional::cross_entropy(logits.colour, colours.index_select(0, index));
      const double rate = 0.5 * options.learning_rate * (1 + std::cos(M_PI * static_cast<double>(step++) / total_steps));
      for (auto& group : optimizer.param_groups()) group.options().set_lr(rate);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    if (options.progress) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "judge epoch %d/%d: loss %.4f (%.0f s)\n", epoch, options.epochs,
                   loss_sum / static_cast<double>(batches), seconds);
    }
  }

  const ImageDataset grey_test = load_mnist_dir(options.mnist_dir, Split::test, options.test_limit);
  result.coloured_mnist = judge_accuracy(judge, colour_randomly(grey_test, Split::test));
  result.all_colours = judge_accuracy(judge, all_colours_dataset(grey_test, Split::test));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

namespace {

void write_accuracy(torch::serialize::OutputArchive& archive, const std::string& prefix, const JudgeAccuracy& a) {
  archive.write(prefix + ".digit", c10::IValue(a.digit));
  archive.write(prefix + ".colour", c10::IValue(a.colour));
  archive.write(prefix + ".images", c10::IValue(a.images));
}

JudgeAccuracy read_accuracy(torch::serialize::InputArchive& archive, const std::string& prefix) {
  JudgeAccuracy a;
  c10::IValue value;
  archive.read(prefix + ".digit", value);
  a.digit = value.toDouble();
  archive.read(prefix + ".colour", value);
  a.colour = value.toDouble();
  archive.read(prefix + ".images", value);
  a.images = value.toInt();
  return a;
}

}  // namespace

void save_judge(const std::string& path, Judge& judge, const JudgeAccuracy& coloured_mnist,
                const JudgeAccuracy& all_colours) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormatTag)));
  archive.write("version", c10::IValue(kFormatVersion));
  archive.write("palette_size", c10::IValue(palette_size()));
  write_accuracy(archive, "test.coloured_mnist", coloured_mnist);
  write_accuracy(archive, "test.all_colours", all_colours);
  torch::serialize::OutputArchive module_archive;
  judge->save(module_archive);
  archive.write("judge", module_archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string text = bytes.str();
  write_file_atomically(path, std::vector<uint8_t>(text.begin(), text.end()));
}

LoadedJudge load_judge(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw std::runtime_error("no judge file at '" + path + "' (latentkit-judge train --out " + path + " makes one)");
  }
  LoadedJudge loaded;
  torch::serialize::InputArchive archive;
  c10::IValue value;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error("'" + path + "' is not a judge file (not a libtorch archive: " +
                             e.what_without_backtrace() + ")");
  }
  try {
    if (!archive.try_read("format", value) || !value.isString() || value.toStringRef() != kFormatTag) {
      throw std::runtime_error("'" + path + "' is a libtorch archive but not a judge file (no '" + kFormatTag +
                               "' tag; a training checkpoint?)");
    }
    archive.read("version", value);
    if (value.toInt() != kFormatVersion) {
      throw std::runtime_error("judge file '" + path + "' has version " + std::to_string(value.toInt()) +
                               "; this latentkit reads version " + std::to_string(kFormatVersion));
    }
    archive.read("palette_size", value);
    if (value.toInt() != palette_size()) {
      throw std::runtime_error("judge file '" + path + "' knows " + std::to_string(value.toInt()) +
                               " colours; this latentkit's palette has " + std::to_string(palette_size()));
    }
    loaded.coloured_mnist = read_accuracy(archive, "test.coloured_mnist");
    loaded.all_colours = read_accuracy(archive, "test.all_colours");
    loaded.judge = Judge();
    torch::serialize::InputArchive module_archive;
    archive.read("judge", module_archive);
    loaded.judge->load(module_archive);
  } catch (const c10::Error& e) {
    throw std::runtime_error("judge file '" + path + "' is damaged: " + e.what_without_backtrace());
  }
  loaded.judge->eval();
  return loaded;
}

}  // namespace latentkit::trainer
