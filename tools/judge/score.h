// latentkit-judge score: how good a model's prior samples are, by the judge (issue #23): the
// Fréchet distance of their judge features to the test set's, the classifier score, and the
// share of each digit among them; beside the same figures for real images, the scale they are
// read against.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/decoder.h"
#include "latentkit/model.h"
#include "latentkit/trainer/judge.h"

namespace latentkit::judge_tool {

struct ScoreRequest {
  std::string dataset;    // resolved (resolve_dataset): its test split is the reference
  int samples = 10000;
  uint64_t seed = 0;
  int64_t test_limit = 0;  // the first N test images (0: all)
};

struct QualityFigures {
  double frechet_distance = 0;  // to the test set's judge features
  double classifier_score = 0;
  std::vector<int64_t> digits;  // how many images the judge reads as each digit
  int64_t images = 0;
};

struct Score {
  std::string prior;            // "normal" or "gaussian mixture of K components"
  QualityFigures model;         // the model's prior samples, decoded by the runtime
  QualityFigures training;      // as many training images as samples: real images' figures
  // The test images' codes (the encode method's first output) decoded: what the decoder draws
  // from the codes of real images, the best any prior can make it draw. Empty (images 0) when
  // the model has no encode method.
  QualityFigures reconstructions;
  double test_classifier_score = 0;
  double judge_digit_accuracy = 0;  // on the test set, against its labels
  int64_t test_images = 0;
};

// Throws std::invalid_argument when the model's images are not 28 x 28 with 1 or 3 channels, or
// the dataset's images differ from the model's.
Score score_samples(const Model& model, Decoder& decoder, trainer::Judge& judge, const ScoreRequest& request,
                    BackendKind kind);

void print_score_text(const Score& score, const std::string& model_path, const std::string& dataset, int samples,
                      uint64_t seed);
void print_score_json(const Score& score, const std::string& model_path, const std::string& dataset, int samples,
                      uint64_t seed);

}  // namespace latentkit::judge_tool
