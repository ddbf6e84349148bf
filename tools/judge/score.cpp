#include "score.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "latentkit/latents.h"
#include "latentkit/method_runner.h"
#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/sample_quality.h"
#include "json_text.h"

namespace latentkit::judge_tool {

namespace tr = latentkit::trainer;

namespace {

// Latents decoded at once.
constexpr int kDecodeBatch = 250;

struct Reading {
  std::vector<torch::Tensor> features, probabilities;
  void add(const tr::JudgeReading& r) {
    features.push_back(r.features);
    probabilities.push_back(r.digit_probabilities);
  }
};

QualityFigures figures_of(const Reading& reading, const tr::FeatureStatistics& test) {
  const torch::Tensor features = torch::cat(reading.features), probabilities = torch::cat(reading.probabilities);
  QualityFigures f;
  f.images = features.size(0);
  f.frechet_distance = tr::frechet_distance(tr::feature_statistics(features), test);
  f.classifier_score = tr::classifier_score(probabilities);
  const torch::Tensor counts = torch::bincount(probabilities.argmax(1), {}, tr::kJudgeDigits).to(torch::kInt64);
  f.digits.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
  return f;
}

void check_images(const Model& model, const tr::ImageDataset& test, const std::string& dataset) {
  const ImageSpec& image = model.image();
  if (image.height != tr::kJudgeSide || image.width != tr::kJudgeSide || (image.channels != 1 && image.channels != 3)) {
    throw std::invalid_argument("the model draws " + std::to_string(image.height) + "x" + std::to_string(image.width) +
                                "x" + std::to_string(image.channels) + " images; the judge reads 28x28 grey or RGB");
  }
  if (test.height != image.height || test.width != image.width || test.channels != image.channels) {
    throw std::invalid_argument("dataset '" + dataset + "' has " + std::to_string(test.height) + "x" +
                                std::to_string(test.width) + "x" + std::to_string(test.channels) +
                                " images, the model draws " + std::to_string(image.height) + "x" +
                                std::to_string(image.width) + "x" + std::to_string(image.channels));
  }
}

std::string prior_text(const LatentSpec& spec) {
  for (const LatentGroup& g : spec.groups) {
    if (g.kind == LatentKind::gaussian && g.mixture.components() > 0) {
      return "gaussian mixture of " + std::to_string(g.mixture.components()) + " components over " + g.name;
    }
  }
  return "normal";
}

}  // namespace

namespace {

// The judge's reading of the decoder's images of the latents z (n of them), a batch at a time.
Reading read_decoded(Decoder& decoder, tr::Judge& judge, const std::vector<float>& z, int n) {
  const ImageSpec& image = decoder.model().image();
  const int dims = decoder.latent_dims();
  std::vector<float> pixels(static_cast<std::size_t>(std::min(n, kDecodeBatch)) *
                            static_cast<std::size_t>(decoder.image_pixels()));
  Reading reading;
  for (int start = 0; start < n; start += kDecodeBatch) {
    const int batch = std::min(kDecodeBatch, n - start);
    decoder.decode_into(z.data() + static_cast<std::size_t>(start) * static_cast<std::size_t>(dims), batch,
                        pixels.data());
    torch::Tensor images =
        torch::from_blob(pixels.data(), {batch, image.height, image.width, image.channels}, torch::kFloat32)
            .permute({0, 3, 1, 2})
            .contiguous();
    // The judge reads [0, 1]; a model of [-1, 1] images is mapped onto it.
    if (image.range == ValueRange::symmetric) images = (images + 1) * 0.5;
    reading.add(tr::read_images(judge, images));
  }
  return reading;
}

// The codes the model's encode method gives the dataset's images (its first output).
std::vector<float> encode(const Model& model, BackendKind kind, const tr::ImageDataset& data) {
  MethodRunner encoder(model, "encode", kind);
  const ImageSpec& image = model.image();
  const bool symmetric = image.range == ValueRange::symmetric;
  const auto pixels = static_cast<std::size_t>(data.image_bytes());
  const auto dims = static_cast<std::size_t>(encoder.method().output_elements(0));
  std::vector<float> codes(static_cast<std::size_t>(data.count) * dims);
  std::vector<float> batch_pixels;
  for (int64_t start = 0; start < data.count; start += kDecodeBatch) {
    const int batch = static_cast<int>(std::min<int64_t>(kDecodeBatch, data.count - start));
    batch_pixels.resize(static_cast<std::size_t>(batch) * pixels);
    for (std::size_t i = 0; i < batch_pixels.size(); ++i) {
      const float v = static_cast<float>(data.pixels[static_cast<std::size_t>(start) * pixels + i]) / 255.0f;
      batch_pixels[i] = symmetric ? 2 * v - 1 : v;
    }
    const std::vector<std::vector<float>> out = encoder.run({batch_pixels}, batch);
    std::copy(out[0].begin(), out[0].end(), codes.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(start) * dims));
  }
  return codes;
}

}  // namespace

Score score_samples(const Model& model, Decoder& decoder, tr::Judge& judge, const ScoreRequest& request,
                    BackendKind kind) {
  const tr::ImageDataset test = tr::load_dataset(request.dataset, tr::Split::test, request.test_limit);
  check_images(model, test, request.dataset);
  Score score;
  score.prior = prior_text(model.latent());

  const tr::JudgeReading test_reading = tr::read_images(judge, tr::to_tensor(test));
  const tr::FeatureStatistics test_statistics = tr::feature_statistics(test_reading.features);
  score.test_images = test.count;
  score.test_classifier_score = tr::classifier_score(test_reading.digit_probabilities);
  const torch::Tensor labels =
      torch::from_blob(const_cast<uint8_t*>(test.labels.data()), {test.count}, torch::kUInt8).to(torch::kLong);
  score.judge_digit_accuracy = test_reading.digit_probabilities.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();

  const tr::ImageDataset train = tr::load_dataset(request.dataset, tr::Split::train, request.samples);
  Reading real;
  real.add(tr::read_images(judge, tr::to_tensor(train)));
  score.training = figures_of(real, test_statistics);

  const std::vector<float> z = sample_latents(model.latent(), request.samples, request.seed);
  score.model = figures_of(read_decoded(decoder, judge, z, request.samples), test_statistics);

  const Method* encode_method = model.find_method("encode");
  if (encode_method != nullptr && encode_method->output_elements(0) == decoder.latent_dims()) {
    score.reconstructions =
        figures_of(read_decoded(decoder, judge, encode(model, kind, test), static_cast<int>(test.count)), test_statistics);
  }
  return score;
}

namespace {

// "0 9.8 %  1 11.2 % ..." and the rarest digit.
std::string digits_text(const QualityFigures& f) {
  std::string text;
  char part[32];
  for (std::size_t d = 0; d < f.digits.size(); ++d) {
    std::snprintf(part, sizeof part, "%s%zu: %.1f %%", d ? "  " : "", d,
                  100.0 * static_cast<double>(f.digits[d]) / static_cast<double>(f.images));
    text += part;
  }
  return text;
}

std::size_t rarest(const QualityFigures& f) {
  return static_cast<std::size_t>(std::min_element(f.digits.begin(), f.digits.end()) - f.digits.begin());
}

double share(const QualityFigures& f, std::size_t digit) {
  return static_cast<double>(f.digits[digit]) / static_cast<double>(f.images);
}

}  // namespace

void print_score_text(const Score& s, const std::string& model_path, const std::string& dataset, int samples,
                      uint64_t seed) {
  std::printf("model %s, prior %s: %d samples, seed %llu (latentkit-sample sample --seed %llu)\n", model_path.c_str(),
              s.prior.c_str(), samples, static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::printf("reference: the test set of %s (%lld images); the judge reads its digits right in %.2f %%\n",
              dataset.c_str(), static_cast<long long>(s.test_images), 100 * s.judge_digit_accuracy);
  std::printf("\n%-28s %16s %16s %14s\n", "", "Frechet distance", "classifier score", "rarest digit");
  std::printf("%-28s %16.2f %16.3f %9zu %4.1f %%\n", "model samples", s.model.frechet_distance,
              s.model.classifier_score, rarest(s.model), 100 * share(s.model, rarest(s.model)));
  std::printf("%-28s %16.2f %16.3f %9zu %4.1f %%\n",
              ("training images (" + std::to_string(s.training.images) + ")").c_str(), s.training.frechet_distance,
              s.training.classifier_score, rarest(s.training), 100 * share(s.training, rarest(s.training)));
  if (s.reconstructions.images > 0) {
    std::printf("%-28s %16.2f %16.3f %9zu %4.1f %%\n", "test codes decoded", s.reconstructions.frechet_distance,
                s.reconstructions.classifier_score, rarest(s.reconstructions),
                100 * share(s.reconstructions, rarest(s.reconstructions)));
  }
  std::printf("%-28s %16s %16.3f\n", "test set", "0", s.test_classifier_score);
  std::printf("\ndigits judged among the samples:\n  %s\n", digits_text(s.model).c_str());
  if (s.reconstructions.images > 0) {
    std::printf("among the decoded test codes:\n  %s\n", digits_text(s.reconstructions).c_str());
  }
}

void print_score_json(const Score& s, const std::string& model_path, const std::string& dataset, int samples,
                      uint64_t seed) {
  using latentkit::cli::json_string;
  auto figures = [](const QualityFigures& f) {
    std::ostringstream o;
    o << "{\"images\": " << f.images << ", \"frechet_distance\": " << f.frechet_distance
      << ", \"classifier_score\": " << f.classifier_score << ", \"digits\": [";
    for (std::size_t d = 0; d < f.digits.size(); ++d) o << (d ? ", " : "") << f.digits[d];
    o << "]}";
    return o.str();
  };
  std::ostringstream o;
  o.precision(6);
  o << "{\n  \"model\": " << json_string(model_path) << ",\n  \"prior\": " << json_string(s.prior)
    << ",\n  \"dataset\": " << json_string(dataset) << ",\n  \"samples\": " << samples << ",\n  \"seed\": " << seed
    << ",\n  \"test_images\": " << s.test_images << ",\n  \"judge_digit_accuracy\": " << s.judge_digit_accuracy
    << ",\n  \"test_classifier_score\": " << s.test_classifier_score << ",\n  \"model_samples\": " << figures(s.model)
    << ",\n  \"training_images\": " << figures(s.training);
  if (s.reconstructions.images > 0) o << ",\n  \"test_codes_decoded\": " << figures(s.reconstructions);
  o << "\n}\n";
  std::cout << o.str();
}

}  // namespace latentkit::judge_tool
