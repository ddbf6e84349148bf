// latentkit-judge: the project's own classifier of digit and colour (trainer/judge.h), and the
// measurement of seed 004's issue #20 with it: asked for a colour (a digit), how often does a
// model draw that colour (digit)?
//
//   latentkit-judge train --out judge.pt [--epochs 3] [--train-limit N] [--seed 1] [--threads 1]
//   latentkit-judge control joint.lkm --judge judge.pt [--samples 1000] [--seed 0] [--json]
//   latentkit-judge score model.lkm --judge judge.pt [--samples 10000] [--seed 0] [--data D] [--json]
//
// control draws, for every category of every "digit..." and "colour..." group of the model,
// --samples prior samples with that category set (what `latentkit-sample sample --seed S --set
// GROUP=LABEL` draws), decodes them with the runtime, and counts what the judge sees; then the
// same for plain prior samples. The criterion is checked on the categories --digit and
// --colour reach: the first of each label in the groups "digit" and "colour".
//
// score (score.h) measures the quality of a model's prior samples: Fréchet distance and classifier
// score in the judge's feature space, against the test set of the dataset the model was trained on.
//
// Every failure ends with one line on stderr naming the problem, a non-zero exit status (1;
// CLI11's own codes for bad command-line syntax), and no output file.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "latentkit/decoder.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"
#include "latentkit/trainer/coloured_mnist.h"
#include "latentkit/trainer/judge.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/thread_config.h"
#include "cli_checks.h"
#include "json_text.h"
#include "score.h"

namespace lk = latentkit;
namespace tr = latentkit::trainer;

namespace {

// The thresholds: the share of samples judged as asked.
constexpr double kColourThreshold = 0.95, kDigitThreshold = 0.90;
// Latents decoded at once: one backend, reused for every label.
constexpr int kDecodeBatch = 250;

enum class Kind { digit, colour };
const char* to_string(Kind kind) { return kind == Kind::digit ? "digit" : "colour"; }

// "digit", "digit2", ... and "colour", "colour2", ... (category_naming.h's group_names).
bool group_of_kind(const std::string& name, const std::string& kind) {
  if (name.rfind(kind, 0) != 0) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(kind.size()), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// A second category of the same label is "7-2", "red-3" (unique_labels): it draws a 7, red.
std::string base_label(const std::string& label) {
  const std::size_t dash = label.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == label.size()) return label;
  const bool numbered = std::all_of(label.begin() + static_cast<std::ptrdiff_t>(dash + 1), label.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
  return numbered ? label.substr(0, dash) : label;
}

bool unused_label(const std::string& label) { return label.rfind("unused-", 0) == 0; }

std::vector<std::string> digit_names() {
  std::vector<std::string> names;
  for (int d = 0; d < tr::kJudgeDigits; ++d) names.push_back(std::to_string(d));
  return names;
}

// The index of `label` among `names`, or -1.
int index_of(const std::vector<std::string>& names, const std::string& label) {
  const auto it = std::find(names.begin(), names.end(), label);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

struct Counts {
  std::vector<int64_t> digits, colours;
  int64_t total = 0;
};

// Decodes the n latents at z and counts the judge's verdicts.
Counts judge_samples(lk::Decoder& decoder, tr::Judge& judge, const std::vector<float>& z, int n) {
  Counts counts;
  counts.digits.assign(static_cast<std::size_t>(tr::kJudgeDigits), 0);
  counts.colours.assign(tr::colour_palette().size(), 0);
  const int dims = decoder.latent_dims();
  const auto pixels = static_cast<std::size_t>(decoder.image_pixels());
  const bool symmetric = decoder.model().image().range == lk::ValueRange::symmetric;
  std::vector<float> images(static_cast<std::size_t>(std::min(n, kDecodeBatch)) * pixels);
  for (int start = 0; start < n; start += kDecodeBatch) {
    const int batch = std::min(kDecodeBatch, n - start);
    decoder.decode_into(z.data() + static_cast<std::size_t>(start) * static_cast<std::size_t>(dims), batch,
                        images.data());
    // The judge reads [0, 1]; a model of [-1, 1] images is mapped onto it.
    if (symmetric) {
      for (float& v : images) v = (v + 1.0f) * 0.5f;
    }
    const tr::Verdicts verdicts = tr::classify_hwc(judge, images.data(), batch);
    for (int i = 0; i < batch; ++i) {
      ++counts.digits[static_cast<std::size_t>(verdicts.digits[static_cast<std::size_t>(i)])];
      ++counts.colours[static_cast<std::size_t>(verdicts.colours[static_cast<std::size_t>(i)])];
    }
    counts.total += batch;
  }
  return counts;
}

struct LabelResult {
  std::string group, label;
  int category = 0;
  Kind kind = Kind::digit;
  int target = 0;        // the digit or palette index asked for
  bool primary = false;  // what --digit / --colour reach: the group named by the kind, label without "-N"
  Counts counts;
  double share = 0;      // of the samples judged as the target
};

struct GroupInfo {
  std::string name;
  Kind kind = Kind::digit;
  int categories = 0;
  std::vector<std::string> labels, offered, missing, unjudged;  // unjudged: unused-K and unknown names
};

struct Criterion {
  Kind kind = Kind::digit;
  double threshold = 0;
  int labels = 0;
  double min_share = 1;
  std::string worst;
  bool met() const { return labels > 0 && min_share >= threshold; }
};

struct Control {
  std::string model_path, judge_path, dataset, family;
  int samples = 0;
  uint64_t seed = 0;
  lk::BackendKind backend = lk::BackendKind::reference;
  tr::LoadedJudge* judge = nullptr;
  std::vector<GroupInfo> groups;
  std::vector<LabelResult> labels;
  Counts prior;
  std::vector<Criterion> criteria;
};

std::string groups_text(const lk::LatentSpec& spec) {
  std::string text;
  for (const lk::LatentGroup& g : spec.groups) {
    text += (text.empty() ? "" : ", ") + g.name + " (" +
            (g.kind == lk::LatentKind::categorical ? "categorical" : "gaussian") + ", " + std::to_string(g.dims()) + ")";
  }
  return text;
}

// The model's digit and colour groups; refuses a model the judge cannot measure.
std::vector<int> measurable_groups(const lk::Model& model, const std::string& path) {
  const lk::LatentSpec& spec = model.latent();
  bool categorical = false;
  std::vector<int> groups;
  for (std::size_t i = 0; i < spec.groups.size(); ++i) {
    const lk::LatentGroup& g = spec.groups[i];
    if (g.kind != lk::LatentKind::categorical) continue;
    categorical = true;
    if (group_of_kind(g.name, "digit") || group_of_kind(g.name, "colour")) groups.push_back(static_cast<int>(i));
  }
  if (!categorical) {
    throw std::invalid_argument("model '" + path + "' has no categorical latent group (its latent: " +
                                groups_text(spec) + "); control measures models that draw a digit or colour asked "
                                "for (joint-vae, discrete-vae)");
  }
  if (groups.empty()) {
    throw std::invalid_argument("model '" + path + "' has no categorical group named digit... or colour... (its latent: " +
                                groups_text(spec) + ")");
  }
  const lk::ImageSpec& image = model.image();
  if (image.height != tr::kJudgeSide || image.width != tr::kJudgeSide || image.channels != tr::kJudgeChannels) {
    throw std::invalid_argument("model '" + path + "' draws " + std::to_string(image.height) + "x" +
                                std::to_string(image.width) + "x" + std::to_string(image.channels) +
                                " images; the judge reads 28x28x3 (coloured MNIST)");
  }
  return groups;
}

// Which of the colours the model could have learned it offers: coloured-mnist paints in the first
// kRandomColours of the palette, the transfer sets in all of it.
std::vector<std::string> expected_names(Kind kind, const std::string& dataset) {
  if (kind == Kind::digit) return digit_names();
  std::vector<std::string> names = tr::colour_names();
  if (dataset == "coloured-mnist") names.resize(static_cast<std::size_t>(tr::kRandomColours));
  return names;
}

Control run_control(const lk::Model& model, lk::Decoder& decoder, tr::LoadedJudge& judge, const std::vector<int>& groups,
                    int samples, uint64_t seed) {
  Control control;
  control.samples = samples;
  control.seed = seed;
  control.dataset = model.provenance().dataset;
  control.family = model.provenance().model_family;
  control.judge = &judge;
  const lk::LatentSpec& spec = model.latent();
  const std::vector<std::string> digits = digit_names(), colours = tr::colour_names();
  const std::vector<float> prior = lk::sample_latents(spec, samples, seed);
  for (const int group : groups) {
    const lk::LatentGroup& g = spec.groups[static_cast<std::size_t>(group)];
    GroupInfo info;
    info.name = g.name;
    info.kind = group_of_kind(g.name, "digit") ? Kind::digit : Kind::colour;
    info.categories = g.size;
    info.labels = g.labels;
    const std::vector<std::string>& names = info.kind == Kind::digit ? digits : colours;
    for (const std::string& label : g.labels) {
      const std::string base = base_label(label);
      const int target = index_of(names, base);
      if (unused_label(label) || target < 0) {
        info.unjudged.push_back(label);
        continue;
      }
      if (std::find(info.offered.begin(), info.offered.end(), base) == info.offered.end()) info.offered.push_back(base);
      LabelResult r;
      r.group = g.name;
      r.label = label;
      // The runtime's lookup, as --set GROUP=LABEL does it.
      r.category = lk::find_category(g, label);
      r.kind = info.kind;
      r.target = target;
      r.primary = g.name == to_string(info.kind) && base == label;
      std::vector<float> z = prior;
      for (int v = 0; v < g.count; ++v) lk::set_category(spec, group, v, r.category, z.data(), samples);
      r.counts = judge_samples(decoder, judge.judge, z, samples);
      const std::vector<int64_t>& judged = r.kind == Kind::digit ? r.counts.digits : r.counts.colours;
      r.share = static_cast<double>(judged[static_cast<std::size_t>(target)]) / static_cast<double>(samples);
      control.labels.push_back(std::move(r));
    }
    // In the order of the digits and of the palette, not of the categories.
    std::sort(info.offered.begin(), info.offered.end(),
              [&](const std::string& a, const std::string& b) { return index_of(names, a) < index_of(names, b); });
    for (const std::string& name : expected_names(info.kind, control.dataset)) {
      if (std::find(info.offered.begin(), info.offered.end(), name) == info.offered.end()) info.missing.push_back(name);
    }
    control.groups.push_back(std::move(info));
  }
  control.prior = judge_samples(decoder, judge.judge, prior, samples);
  for (const Kind kind : {Kind::colour, Kind::digit}) {
    Criterion c;
    c.kind = kind;
    c.threshold = kind == Kind::colour ? kColourThreshold : kDigitThreshold;
    for (const LabelResult& r : control.labels) {
      if (r.kind != kind || !r.primary) continue;
      ++c.labels;
      if (c.labels == 1 || r.share < c.min_share) {
        c.min_share = r.share;
        c.worst = r.label;
      }
    }
    if (c.labels > 0) control.criteria.push_back(c);
  }
  return control;
}

// "name count" for the non-zero counts, largest first.
std::string distribution_text(const std::vector<int64_t>& counts, const std::vector<std::string>& names) {
  std::vector<std::size_t> order(counts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return counts[a] > counts[b]; });
  std::string text;
  for (const std::size_t i : order) {
    if (counts[i] == 0) continue;
    text += (text.empty() ? "" : " ") + names[i] + ":" + std::to_string(counts[i]);
  }
  return text.empty() ? "-" : text;
}

std::string list_text(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : " ") + item;
  return text.empty() ? "none" : text;
}

void print_text(const Control& c) {
  const std::vector<std::string> digits = digit_names(), colours = tr::colour_names();
  std::printf("model %s: %s trained on %s; decode on the %s backend\n", c.model_path.c_str(), c.family.c_str(),
              c.dataset.c_str(), lk::to_string(c.backend));
  std::printf("judge %s: test accuracy on coloured-mnist digit %.2f %%, colour %.2f %% (%lld images); "
              "in all ten colours digit %.2f %%, colour %.2f %%\n",
              c.judge_path.c_str(), 100 * c.judge->coloured_mnist.digit, 100 * c.judge->coloured_mnist.colour,
              static_cast<long long>(c.judge->coloured_mnist.images), 100 * c.judge->all_colours.digit,
              100 * c.judge->all_colours.colour);
  std::printf("%d prior samples per label, seed %llu (latentkit-sample sample --seed %llu --set GROUP=LABEL)\n",
              c.samples, static_cast<unsigned long long>(c.seed), static_cast<unsigned long long>(c.seed));
  for (const GroupInfo& g : c.groups) {
    std::printf("\ngroup %s (%d categories): offers %ss %s; does not offer %s", g.name.c_str(), g.categories,
                to_string(g.kind), list_text(g.offered).c_str(), list_text(g.missing).c_str());
    if (!g.unjudged.empty()) std::printf("; not judged: %s", list_text(g.unjudged).c_str());
    std::printf("\n");
    for (const LabelResult& r : c.labels) {
      if (r.group != g.name) continue;
      const bool digit = r.kind == Kind::digit;
      std::printf("  %s=%-9s judged %s %-7s %6.1f %%   %ss: %s\n", r.group.c_str(), r.label.c_str(), to_string(r.kind),
                  (digit ? digits : colours)[static_cast<std::size_t>(r.target)].c_str(), 100 * r.share,
                  digit ? "colour" : "digit",
                  distribution_text(digit ? r.counts.colours : r.counts.digits, digit ? colours : digits).c_str());
      // What it drew instead, when it did not draw what was asked.
      const std::vector<int64_t>& same = digit ? r.counts.digits : r.counts.colours;
      if (same[static_cast<std::size_t>(r.target)] < r.counts.total) {
        std::printf("  %*s all %ss judged: %s\n", static_cast<int>(r.group.size() + 1 + 9), "", to_string(r.kind),
                    distribution_text(same, digit ? digits : colours).c_str());
      }
    }
  }
  std::printf("\nprior (no category set), %d samples:\n  digits:  %s\n  colours: %s\n", c.samples,
              distribution_text(c.prior.digits, digits).c_str(), distribution_text(c.prior.colours, colours).c_str());
  std::printf("\nissue #20 (--%s / --%s, judged):\n", "colour", "digit");
  for (const Criterion& k : c.criteria) {
    std::printf("  --%-6s every one of %d %ss drawn in >= %.0f %% of samples: %s (lowest %.1f %%, %s)\n",
                to_string(k.kind), k.labels, to_string(k.kind), 100 * k.threshold, k.met() ? "yes" : "NO",
                100 * k.min_share, k.worst.c_str());
  }
}

using latentkit::cli::json_string;

std::string json_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_string(items[i]);
  return out + "]";
}

std::string json_counts(const std::vector<int64_t>& counts) {
  std::string out = "[";
  for (std::size_t i = 0; i < counts.size(); ++i) out += (i ? ", " : "") + std::to_string(counts[i]);
  return out + "]";
}

std::string json_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string json_accuracy(const tr::JudgeAccuracy& a) {
  return "{\"digit\": " + json_number(a.digit) + ", \"colour\": " + json_number(a.colour) +
         ", \"images\": " + std::to_string(a.images) + "}";
}

void print_json(const Control& c) {
  const std::vector<std::string> digits = digit_names(), colours = tr::colour_names();
  std::ostringstream o;
  o << "{\n  \"model\": " << json_string(c.model_path) << ",\n  \"family\": " << json_string(c.family)
    << ",\n  \"dataset\": " << json_string(c.dataset) << ",\n  \"backend\": " << json_string(lk::to_string(c.backend))
    << ",\n  \"judge\": " << json_string(c.judge_path) << ",\n  \"judge_accuracy\": {\"coloured_mnist\": "
    << json_accuracy(c.judge->coloured_mnist) << ", \"all_colours\": " << json_accuracy(c.judge->all_colours)
    << "},\n  \"samples\": " << c.samples << ",\n  \"seed\": " << c.seed
    << ",\n  \"digit_names\": " << json_strings(digits) << ",\n  \"colour_names\": " << json_strings(colours)
    << ",\n  \"groups\": [";
  for (std::size_t i = 0; i < c.groups.size(); ++i) {
    const GroupInfo& g = c.groups[i];
    o << (i ? "," : "") << "\n    {\"name\": " << json_string(g.name) << ", \"kind\": " << json_string(to_string(g.kind))
      << ", \"categories\": " << g.categories << ", \"labels\": " << json_strings(g.labels)
      << ", \"offered\": " << json_strings(g.offered) << ", \"missing\": " << json_strings(g.missing)
      << ", \"not_judged\": " << json_strings(g.unjudged) << "}";
  }
  o << "\n  ],\n  \"labels\": [";
  for (std::size_t i = 0; i < c.labels.size(); ++i) {
    const LabelResult& r = c.labels[i];
    const std::vector<std::string>& names = r.kind == Kind::digit ? digits : colours;
    o << (i ? "," : "") << "\n    {\"group\": " << json_string(r.group) << ", \"label\": " << json_string(r.label)
      << ", \"category\": " << r.category << ", \"kind\": " << json_string(to_string(r.kind))
      << ", \"asked\": " << json_string(names[static_cast<std::size_t>(r.target)])
      << ", \"primary\": " << (r.primary ? "true" : "false") << ", \"share\": " << json_number(r.share)
      << ", \"digits\": " << json_counts(r.counts.digits) << ", \"colours\": " << json_counts(r.counts.colours) << "}";
  }
  o << "\n  ],\n  \"prior\": {\"digits\": " << json_counts(c.prior.digits)
    << ", \"colours\": " << json_counts(c.prior.colours) << "},\n  \"criteria\": [";
  for (std::size_t i = 0; i < c.criteria.size(); ++i) {
    const Criterion& k = c.criteria[i];
    o << (i ? "," : "") << "\n    {\"kind\": " << json_string(to_string(k.kind)) << ", \"threshold\": "
      << json_number(k.threshold) << ", \"labels\": " << k.labels << ", \"min_share\": " << json_number(k.min_share)
      << ", \"worst\": " << json_string(k.worst) << ", \"met\": " << (k.met() ? "true" : "false") << "}";
  }
  o << "\n  ]\n}\n";
  std::cout << o.str();
}

// The backend asked for, or the reference one when the model cannot run on it (said on stderr).
lk::BackendKind backend_for(const lk::Model& model, const std::string& name) {
  std::string why;
  const lk::BackendKind kind = lk::choose_backend(model, lk::parse_backend_kind(name), &why);
  if (!why.empty()) std::fprintf(stderr, "latentkit-judge: using the reference backend: %s\n", why.c_str());
  return kind;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"latentkit-judge: the digit and colour classifier, and how often a model draws what it is asked"};
  app.require_subcommand(1);
  tr::ThreadConfig threads;
  threads.intra_op = 1;
  auto add_threads = [&](CLI::App* command) {
    command->add_option("--threads", threads.intra_op, "libtorch intra-op threads (0: one per core; 1 on a busy "
                                                       "machine); control: XNNPACK's too")
        ->check(CLI::Range(0, 256))->capture_default_str();
  };

  auto* train = app.add_subcommand("train", "train the judge on coloured MNIST, print its test accuracy, write it");
  std::string out, mnist = "mnist";
  tr::JudgeTrainOptions options;
  train->add_option("--out", out, "judge file to write")->required();
  train->add_option("--epochs", options.epochs, "epochs")->check(CLI::Range(1, 1000))->capture_default_str();
  train->add_option("--train-limit", options.train_limit, "only the first N training digits (each in two colourings; 0: all)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_option("--test-limit", options.test_limit, "only the first N test images (0: all)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_option("--batch", options.batch_size, "batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  train->add_option("--seed", options.seed, "random seed")->capture_default_str();
  train->add_option("--mnist", mnist, "the grey MNIST the coloured sets are made from: mnist (data/mnist) or a folder")
      ->capture_default_str();
  add_threads(train);

  auto* control = app.add_subcommand("control", "how often a model's samples show the digit or colour asked for");
  std::string model_path, judge_path, backend_name = lk::backend_available(lk::BackendKind::xnnpack) ? "xnnpack" : "reference";
  int samples = 1000;
  uint64_t seed = 0;
  bool json = false;
  control->add_option("model", model_path, "model file (.lkm) with digit / colour categorical groups")->required();
  control->add_option("--judge", judge_path, "judge file (latentkit-judge train)")->required();
  control->add_option("--samples", samples, "prior samples per label")->check(CLI::Range(1, 100000))->capture_default_str();
  control->add_option("--seed", seed, "seed of the prior samples (the same for every label)")->capture_default_str();
  control->add_option("--backend", backend_name, "xnnpack or reference")->check(CLI::IsMember({"xnnpack", "reference"}))
      ->capture_default_str();
  control->add_flag("--json", json, "print the figures as JSON");
  add_threads(control);

  auto* scorer = app.add_subcommand("score", "Frechet distance, classifier score and digit shares of a model's prior samples");
  std::string score_model, score_data;
  int score_samples = 10000;
  int64_t score_test_limit = 0;
  scorer->add_option("model", score_model, "model file (.lkm) that decodes 28 x 28 images")->required();
  scorer->add_option("--judge", judge_path, "judge file (latentkit-judge train)")->required();
  scorer->add_option("--samples", score_samples, "prior samples")->check(CLI::Range(2, 1000000))->capture_default_str();
  scorer->add_option("--seed", seed, "seed of the prior samples")->capture_default_str();
  scorer->add_option("--data", score_data, "dataset whose test set is the reference (default: the model's)");
  scorer->add_option("--test-limit", score_test_limit, "only the first N test images (0: all)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  scorer->add_option("--backend", backend_name, "xnnpack or reference")->check(CLI::IsMember({"xnnpack", "reference"}))
      ->capture_default_str();
  scorer->add_flag("--json", json, "print the figures as JSON");
  add_threads(scorer);

  CLI11_PARSE(app, argc, argv);

  try {
    if (*train) {
      lk::cli::check_output_file(out, "--out");
      options.mnist_dir = tr::resolve_dataset(mnist);
      options.progress = true;
      std::fprintf(stderr, "%s\n", tr::apply_thread_config(threads).c_str());
      const tr::JudgeTrainResult result = tr::train_judge(options);
      std::printf("judge trained: %d epochs, %.0f s\n", options.epochs, result.seconds);
      std::printf("test accuracy on coloured-mnist (%lld images): digit %.2f %%, colour %.2f %%\n",
                  static_cast<long long>(result.coloured_mnist.images), 100 * result.coloured_mnist.digit,
                  100 * result.coloured_mnist.colour);
      std::printf("test accuracy in all ten colours (%lld images): digit %.2f %%, colour %.2f %%\n",
                  static_cast<long long>(result.all_colours.images), 100 * result.all_colours.digit,
                  100 * result.all_colours.colour);
      tr::Judge judge = result.judge;
      tr::save_judge(out, judge, result.coloured_mnist, result.all_colours);
      std::printf("wrote %s\n", out.c_str());
    } else if (*control) {
      lk::cli::check_input_file(model_path, "model file");
      const lk::Model model = lk::Model::load_file(model_path);
      const std::vector<int> groups = measurable_groups(model, model_path);
      tr::LoadedJudge judge = tr::load_judge(judge_path);
      std::fprintf(stderr, "%s\n", tr::apply_thread_config(threads).c_str());
      const lk::BackendKind kind = backend_for(model, backend_name);
      lk::Decoder decoder(model, kind, lk::BackendOptions{std::max(1, threads.intra_op)});
      Control result = run_control(model, decoder, judge, groups, samples, seed);
      result.model_path = model_path;
      result.judge_path = judge_path;
      result.backend = kind;
      if (json) {
        print_json(result);
      } else {
        print_text(result);
      }
    } else if (*scorer) {
      lk::cli::check_input_file(score_model, "model file");
      const lk::Model model = lk::Model::load_file(score_model);
      if (model.find_method("decode") == nullptr) {
        throw std::invalid_argument("model '" + score_model + "' has no decode method: it cannot draw samples");
      }
      const std::string dataset = score_data.empty() ? model.provenance().dataset : score_data;
      tr::LoadedJudge judge = tr::load_judge(judge_path);
      std::fprintf(stderr, "%s\n", tr::apply_thread_config(threads).c_str());
      const lk::BackendKind kind = backend_for(model, backend_name);
      lk::Decoder decoder(model, kind, lk::BackendOptions{std::max(1, threads.intra_op)});
      lk::judge_tool::ScoreRequest request;
      request.dataset = tr::resolve_dataset(dataset);
      request.samples = score_samples;
      request.seed = seed;
      request.test_limit = score_test_limit;
      const lk::judge_tool::Score score = lk::judge_tool::score_samples(model, decoder, judge.judge, request, kind);
      if (json) {
        lk::judge_tool::print_score_json(score, score_model, dataset, score_samples, seed);
      } else {
        lk::judge_tool::print_score_text(score, score_model, dataset, score_samples, seed);
      }
    }
  } catch (const lk::Error& e) {
    std::fprintf(stderr, "latentkit-judge: %s: %s\n", lk::to_string(e.code()), e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "latentkit-judge: libtorch: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "latentkit-judge: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latentkit-judge: error: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "latentkit-judge: error: an unknown exception\n");
    return 1;
  }
  return 0;
}
