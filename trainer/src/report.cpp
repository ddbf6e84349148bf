#include "latentkit/trainer/report.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "latentkit/atomic_file.h"
#include "latentkit/image_grid.h"
#include "latentkit/latents.h"

#define STB_IMAGE_WRITE_STATIC  // private copy: the CLI programs link their own
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace latentkit::trainer {

namespace fs = std::filesystem;

const std::vector<const char*>& run_files() {
  static const std::vector<const char*> files = {
      "checkpoint.pt", "metrics.csv", "loss.png",          "latent_scatter.png",
      "reconstructions.png", "samples.png", "grid_libtorch.png", "index.html"};
  return files;
}

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// gnuplot string literal (single quotes; a quote is doubled).
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
}

void write_png(const fs::path& path, const Picture& picture) {
  std::vector<uint8_t> encoded;
  if (stbi_write_png_to_func(append_bytes, &encoded, picture.width, picture.height, picture.channels,
                             picture.pixels.data(), picture.width * picture.channels) == 0) {
    throw std::runtime_error("cannot encode '" + path.string() + "'");
  }
  write_file_atomically(path.string(), encoded);
}

// gnuplot writes its picture into the work folder; the finished file is renamed into the run
// folder (same file system), so a reader never sees half a plot.
std::string plot(const fs::path& work, const fs::path& dir, const std::string& name) {
  const fs::path script = work / (fs::path(name).stem().string() + ".gp");
  const std::string error = run_gnuplot(script.string());
  if (!error.empty()) return error;
  std::error_code failed;
  fs::rename(work / name, dir / name, failed);
  return failed ? "cannot move the plot into the run folder: " + failed.message() : "";
}

const ImageSpec kImage{static_cast<int>(kImageSize), static_cast<int>(kImageSize), 1, ValueRange::unit};

// [B, 1, 28, 28] NCHW -> HWC floats, row-major images.
std::vector<float> to_hwc(const torch::Tensor& images) {
  auto t = images.permute({0, 2, 3, 1}).contiguous().to(torch::kFloat32);
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

std::string fmt(double v, const char* format = "%.2f") {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// A 10-colour qualitative palette (Tableau 10).
const char* const kColours[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

}  // namespace

std::string run_gnuplot(const std::string& script_path) {
  const std::string log = script_path + ".log";
  const int status = std::system(("gnuplot " + shell_quote(script_path) + " > " + shell_quote(log) + " 2>&1").c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove(log);
  if (status == -1) return "cannot start a shell for gnuplot";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return "gnuplot not found (install the Debian package gnuplot-nox; tools/setup.sh does)";
  }
  return "gnuplot failed: " + text.str();
}

ReportSummary write_run_report(const ReportInputs& in) {
  torch::NoGradGuard no_grad;
  Cvae model = in.model;
  const bool was_training = model->is_training();
  model->eval();
  ReportSummary summary;
  const fs::path dir(in.run_dir);
  const fs::path work = dir / ".report";  // gnuplot scripts and data, removed afterwards
  fs::create_directories(work);

  // Loss curves.
  {
    std::ofstream data(work / "loss.dat");
    data << "# epoch train_loss test_neg_elbo test_neg_iwae\n";
    for (const EpochReport& r : in.epochs) {
      data << r.epoch << ' ' << fmt(r.train_loss, "%.4f") << ' ' << fmt(-r.test.elbo, "%.4f") << ' '
           << (r.test.iwae_k > 0 ? fmt(-r.test.iwae, "%.4f") : std::string("NaN")) << '\n';
    }
    const bool iwae = !in.epochs.empty() && in.epochs.back().test.iwae_k > 0;
    std::ofstream gp(work / "loss.gp");
    gp << "set terminal pngcairo size " << kLossPlotWidth << "," << kLossPlotHeight << " font 'sans,10'\n"
       << "set output " << gp_quote((work / "loss.png").string()) << "\n"
       << "set title 'loss per image (nats, lower is better), " << to_string(in.options.binarization)
       << " binarisation'\n"
       << "set xlabel 'epoch'\nset ylabel 'nats'\nset grid\nset key top right\n"
       << "set xrange [0.5:" << (in.epochs.empty() ? 1 : in.epochs.back().epoch) + 0.5 << "]\n"
       << (in.epochs.size() <= 20 ? "set xtics 1\n" : "")
       << "plot " << gp_quote((work / "loss.dat").string())
       << " using 1:2 with linespoints pt 7 lw 2 title 'train -ELBO (epoch mean)', '' using 1:3 with linespoints "
          "pt 5 lw 2 title 'test -ELBO'";
    if (iwae) {
      gp << ", '' using 1:4 with linespoints pt 9 lw 2 title 'test -IWAE (k=" << in.epochs.back().test.iwae_k << ", "
         << in.epochs.back().test.iwae_images << " images)'";
    }
    gp << "\n";
  }

  {
    const std::string error = plot(work, dir, "loss.png");
    if (error.empty()) {
      summary.written.push_back("loss.png");
    } else {
      summary.warnings.push_back("loss.png left out: " + error);
    }
  }

  // Latent scatter: posterior means of the test set (2-D PCA projection beyond 2 dimensions).
  auto images = in.test_images;
  auto means = torch::empty({images.size(0), model->latent_dims()});
  for (int64_t s = 0; s < images.size(0); s += 500) {
    const int64_t e = std::min(images.size(0), s + 500);
    means.slice(0, s, e).copy_(model->encode(images.slice(0, s, e)).mean);
  }
  std::string axis_x = "z1", axis_y = "z2";
  torch::Tensor points;
  if (model->latent_dims() == 1) {
    points = torch::cat({means, torch::zeros_like(means)}, 1);
    axis_y = "(none: 1 latent dimension)";
  } else if (model->latent_dims() == 2) {
    points = means;
  } else {
    auto centred = (means - means.mean(0)).to(torch::kFloat64);
    auto covariance = centred.t().matmul(centred) / std::max<int64_t>(1, centred.size(0) - 1);
    auto [values, vectors] = torch::linalg::eigh(covariance, "L");  // ascending eigenvalues
    auto top = vectors.slice(1, vectors.size(1) - 2).flip({1});       // the two largest
    points = centred.matmul(top).to(torch::kFloat32);
    const double total = values.sum().item<double>();
    axis_x = "PC1 (" + fmt(100 * values[-1].item<double>() / total, "%.0f") + "% of variance)";
    axis_y = "PC2 (" + fmt(100 * values[-2].item<double>() / total, "%.0f") + "% of variance)";
  }
  {
    std::ofstream data(work / "latent.dat");
    auto p = points.contiguous();
    const float* v = p.data_ptr<float>();
    for (int64_t i = 0; i < p.size(0); ++i) {
      const int label = i < static_cast<int64_t>(in.test_labels.size()) ? in.test_labels[i] : 0;
      data << v[2 * i] << ' ' << v[2 * i + 1] << ' ' << label << '\n';
    }
    std::ofstream gp(work / "latent_scatter.gp");
    gp << "set terminal pngcairo size " << kScatterWidth << "," << kScatterHeight << " font 'sans,10'\n"
       << "set output " << gp_quote((work / "latent_scatter.png").string()) << "\n"
       << "set title 'test set: posterior means, coloured by label (" << p.size(0) << " images)'\n"
       << "set xlabel " << gp_quote(axis_x) << "\nset ylabel " << gp_quote(axis_y) << "\nset grid\nunset key\n"
       << "set palette maxcolors 10\nset palette defined (";
    for (int c = 0; c < 10; ++c) gp << (c ? ", " : "") << c << " '" << kColours[c] << "'";
    gp << ")\nset cbrange [-0.5:9.5]\nset cbtics (";
    for (int c = 0; c < 10; ++c) {
      const std::string name = c < static_cast<int>(in.class_names.size()) ? in.class_names[c] : std::to_string(c);
      gp << (c ? ", " : "") << gp_quote(name) << " " << c;
    }
    gp << ")\nplot " << gp_quote((work / "latent.dat").string())
       << " using 1:2:3 with points pt 7 ps 0.5 lc palette\n";
  }
  {
    const std::string error = plot(work, dir, "latent_scatter.png");
    if (error.empty()) {
      summary.written.push_back("latent_scatter.png");
    } else {
      summary.warnings.push_back("latent_scatter.png left out: " + error);
    }
  }

  // Reconstructions next to their inputs.
  const int64_t pairs = std::min<int64_t>(kTileRows * kTileColumns, images.size(0));
  if (pairs > 0) {
    auto x = images.slice(0, 0, pairs);
    auto reconstruction = torch::sigmoid(model->decode_logits(model->encode(x).mean));
    auto tiles = torch::zeros({kTileRows * kTileColumns * 2, 1, kImageSize, kImageSize});
    tiles.slice(0, 0, 2 * pairs).copy_(torch::stack({x, reconstruction}, 1).reshape({2 * pairs, 1, kImageSize, kImageSize}));
    const std::vector<float> hwc = to_hwc(tiles);
    write_png(dir / "reconstructions.png", tile_images(hwc.data(), kImage, kTileRows, 2 * kTileColumns));
    summary.written.push_back("reconstructions.png");
  }

  // Prior samples and the latent grid, through the same decoder as export checks against.
  LatentSpec spec;
  spec.groups.push_back({LatentKind::gaussian, "z", static_cast<int>(model->latent_dims()), 1, {}});
  {
    const std::vector<float> z = sample_latents(spec, kTileRows * kTileColumns, in.options.seed);
    const std::vector<float> decoded = decode_images(model, z);
    write_png(dir / "samples.png", tile_images(decoded.data(), kImage, kTileRows, kTileColumns));
    summary.written.push_back("samples.png");
  }
  if (spec.dims() >= 2) {
    const std::vector<float> z = grid_latents(spec, 5, 5, default_grid_range(), default_grid_range());
    const std::vector<float> decoded = decode_images(model, z);
    write_png(dir / "grid_libtorch.png", tile_images(decoded.data(), kImage, 5, 5));
    summary.written.push_back("grid_libtorch.png");
  }

  // The page.
  {
    const TrainOptions& o = in.options;
    std::ostringstream html;
    html << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>latentkit run "
         << html_escape(dir.filename().string()) << "</title>\n<style>body{font-family:sans-serif;margin:2em}"
         << "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
         << "img.px{image-rendering:pixelated}figure{display:inline-block;vertical-align:top;margin:1em}"
         << "</style></head><body>\n<h1>latentkit run: cvae on " << html_escape(o.data_dir) << "</h1>\n";
    html << "<h2>Settings</h2>\n<table>\n";
    auto row = [&](const std::string& k, const std::string& v) {
      html << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(v) << "</td></tr>\n";
    };
    row("data", o.data_dir);
    row("latent dimensions", std::to_string(o.latent_dims));
    row("epochs", std::to_string(o.epochs));
    row("batch size", std::to_string(o.batch_size));
    row("learning rate", fmt(o.learning_rate, "%g") + " (Adam, cosine-decayed to 0)");
    row("seed", std::to_string(o.seed));
    row("binarisation", std::string(to_string(o.binarization)) +
                            (o.binarization == Binarization::dynamic
                                 ? " (pixels ~ Bernoulli(intensity); test set drawn once, fixed seed)"
                                 : " (threshold 0.5)"));
    row("training images", o.train_limit > 0 ? "first " + std::to_string(o.train_limit) : std::string("all"));
    row("test images", std::to_string(images.size(0)));
    html << "</table>\n";
    if (!in.epochs.empty()) {
      const EpochReport& r = in.epochs.back();
      html << "<h2>Test figures after epoch " << r.epoch << " (nats per image, " << to_string(o.binarization)
           << " binarisation)</h2>\n<table>\n";
      row("ELBO", fmt(r.test.elbo));
      row("reconstruction", fmt(r.test.reconstruction));
      row("KL", fmt(r.test.kl));
      if (r.test.iwae_k > 0) {
        row("IWAE bound on log p(x)", fmt(r.test.iwae) + " (k=" + std::to_string(r.test.iwae_k) + ", first " +
                                          std::to_string(r.test.iwae_images) + " images)");
      }
      row("training speed (last epoch)", fmt(r.images_per_second, "%.0f") + " images/s");
      html << "</table>\n<p>Every epoch: <a href=\"metrics.csv\">metrics.csv</a>.</p>\n";
    }
    html << "<h2>Pictures</h2>\n";
    auto figure = [&](const char* file, const std::string& caption, int width) {
      if (!fs::exists(dir / file)) return;
      html << "<figure><img src=\"" << file << "\"" << (width > 0 ? " class=\"px\" width=\"" + std::to_string(width) + "\"" : "")
           << " alt=\"" << file << "\"><figcaption>" << html_escape(caption) << "</figcaption></figure>\n";
    };
    figure("loss.png", "loss curves", 0);
    figure("latent_scatter.png", "test-set latent means by label", 0);
    figure("reconstructions.png", "test inputs (left of each pair) and reconstructions", 2 * 16 * 28);
    figure("samples.png", "prior samples (decoder means)", 2 * 8 * 28);
    figure("grid_libtorch.png", "latent grid: z1 along x, z2 along y (top = high)", 3 * 5 * 28);
    html << "</body></html>\n";
    write_text_file_atomically((dir / "index.html").string(), html.str());
    summary.written.push_back("index.html");
  }
  fs::remove_all(work);
  model->train(was_training);
  return summary;
}

}  // namespace latentkit::trainer
