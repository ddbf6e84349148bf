#include "latentkit/trainer/report.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "latentkit/atomic_file.h"
#include "latentkit/trainer/family.h"
#include "latentkit/trainer/family_registry.h"

#define STB_IMAGE_WRITE_STATIC  // private copy: the CLI programs link their own
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace latentkit::trainer {

namespace fs = std::filesystem;

const std::vector<const char*>& run_files() {
  static const std::vector<const char*> files = [] {
    std::vector<const char*> names = {"checkpoint.pt", "metrics.csv", "index.html"};
    for (const FamilyDescription* family : families()) {
      for (const Figure& figure : family->figures) {
        const bool listed = std::any_of(names.begin(), names.end(),
                                        [&](const char* name) { return std::strcmp(name, figure.file) == 0; });
        if (!listed) names.push_back(figure.file);
      }
    }
    return names;
  }();
  return files;
}

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
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

std::string run_page(const Family& family, const ReportInputs& in) {
  const TrainOptions& o = in.options;
  const fs::path dir(in.run_dir);
  std::ostringstream html;
  html << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>latentkit run "
       << html_escape(dir.filename().string()) << "</title>\n<style>body{font-family:sans-serif;margin:2em}"
       << "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
       << "img.px{image-rendering:pixelated}figure{display:inline-block;vertical-align:top;margin:1em}"
       << "</style></head><body>\n<h1>latentkit run: " << html_escape(family.description().name) << " on "
       << html_escape(o.data_dir) << "</h1>\n";
  html << "<h2>Settings</h2>\n<table>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    html << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(v) << "</td></tr>\n";
  };
  row("data", o.data_dir);
  row("latent dimensions", std::to_string(o.latent_dims));
  row("epochs", std::to_string(o.epochs));
  row("batch size", std::to_string(o.batch_size));
  row("learning rate", format_number(o.learning_rate, "%g") + " (Adam, cosine-decayed to 0)");
  row("seed", std::to_string(o.seed));
  row("binarisation", std::string(to_string(o.binarization)) +
                          (o.binarization == Binarization::dynamic
                               ? " (pixels ~ Bernoulli(intensity); test set drawn once, fixed seed)"
                               : o.binarization == Binarization::fixed ? " (threshold 0.5)" : " (grey levels in [0, 1])"));
  for (const auto& [flag, value] : family.options()) row("--" + flag, value);
  row("training images", o.train_limit > 0 ? "first " + std::to_string(o.train_limit) : std::string("all"));
  row("test images", std::to_string(in.test_images.size(0)));
  html << "</table>\n";
  if (!in.epochs.empty()) {
    const PageTable figures = family.test_figures_table(in);
    html << "<h2>" << html_escape(figures.heading) << "</h2>\n<table>\n";
    for (const auto& [label, value] : figures.rows) row(label, value);
    row("training speed (last epoch)", format_number(in.epochs.back().images_per_second, "%.0f") + " images/s");
    html << "</table>\n<p>Every epoch: <a href=\"metrics.csv\">metrics.csv</a>.</p>\n";
  }
  html << "<h2>Pictures</h2>\n";
  for (const Figure& figure : family.description().figures) {
    if (!fs::exists(dir / figure.file)) continue;
    html << "<figure><img src=\"" << figure.file << "\""
         << (figure.display_width > 0 ? " class=\"px\" width=\"" + std::to_string(figure.display_width) + "\"" : "")
         << " alt=\"" << figure.file << "\"><figcaption>" << html_escape(figure.caption)
         << "</figcaption></figure>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

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

std::string gnuplot_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// gnuplot writes its picture into the work folder; the finished file is renamed into the run
// folder (same file system), so a reader never sees half a plot.
std::string plot_into_run(const ReportInputs& inputs, const std::string& name) {
  const fs::path work(inputs.work_dir);
  const fs::path script = work / (fs::path(name).stem().string() + ".gp");
  const std::string error = run_gnuplot(script.string());
  if (!error.empty()) return error;
  std::error_code failed;
  fs::rename(work / name, fs::path(inputs.run_dir) / name, failed);
  return failed ? "cannot move the plot into the run folder: " + failed.message() : "";
}

void write_png(const std::string& path, const Picture& picture) {
  std::vector<uint8_t> encoded;
  if (stbi_write_png_to_func(append_bytes, &encoded, picture.width, picture.height, picture.channels,
                             picture.pixels.data(), picture.width * picture.channels) == 0) {
    throw std::runtime_error("cannot encode '" + path + "'");
  }
  write_file_atomically(path, encoded);
}

void plot_and_note(const ReportInputs& in, const std::string& name, ReportSummary& summary) {
  const std::string error = plot_into_run(in, name);
  if (error.empty()) {
    summary.written.push_back(name);
  } else {
    summary.warnings.push_back(name + " left out: " + error);
  }
}

void write_pairs_png(const std::string& path, const torch::Tensor& left, const torch::Tensor& right) {
  const int64_t pairs = std::min<int64_t>({kTileRows * kTileColumns, left.size(0), right.size(0)});
  const int64_t c = left.size(1), h = left.size(2), w = left.size(3);
  auto tiles = torch::zeros({kTileRows * kTileColumns * 2, c, h, w});
  tiles.slice(0, 0, 2 * pairs)
      .copy_(torch::stack({left.slice(0, 0, pairs), right.slice(0, 0, pairs)}, 1).reshape({2 * pairs, c, h, w}));
  const torch::Tensor hwc = tiles.permute({0, 2, 3, 1}).contiguous().to(torch::kFloat32);
  const ImageSpec spec{static_cast<int>(h), static_cast<int>(w), static_cast<int>(c), ValueRange::unit};
  write_png(path, tile_images(hwc.data_ptr<float>(), spec, kTileRows, 2 * kTileColumns));
}

void plot_latent_scatter(const ReportInputs& in, const torch::Tensor& means, const std::vector<uint8_t>& labels,
                         const std::vector<std::string>& class_names, const std::string& name, const std::string& what,
                         ReportSummary& summary, const std::vector<std::string>& point_colours) {
  // A 10-colour qualitative palette (Tableau 10).
  static const std::vector<std::string> kTableau = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  const std::vector<std::string>& kColours = point_colours.size() >= 10 ? point_colours : kTableau;
  const fs::path work(in.work_dir);
  const std::string stem = fs::path(name).stem().string();
  std::string axis_x = "z1", axis_y = "z2";
  torch::Tensor points;
  if (means.size(1) == 1) {
    points = torch::cat({means, torch::zeros_like(means)}, 1);
    axis_y = "(none: 1 latent dimension)";
  } else if (means.size(1) == 2) {
    points = means;
  } else {
    auto centred = (means - means.mean(0)).to(torch::kFloat64);
    auto covariance = centred.t().matmul(centred) / std::max<int64_t>(1, centred.size(0) - 1);
    auto [values, vectors] = torch::linalg::eigh(covariance, "L");  // ascending eigenvalues
    auto top = vectors.slice(1, vectors.size(1) - 2).flip({1});       // the two largest
    points = centred.matmul(top).to(torch::kFloat32);
    const double total = values.sum().item<double>();
    axis_x = "PC1 (" + format_number(100 * values[-1].item<double>() / total, "%.0f") + "% of variance)";
    axis_y = "PC2 (" + format_number(100 * values[-2].item<double>() / total, "%.0f") + "% of variance)";
  }
  {
    std::ofstream data(work / (stem + ".dat"));
    auto p = points.contiguous();
    const float* v = p.data_ptr<float>();
    for (int64_t i = 0; i < p.size(0); ++i) {
      const int label = i < static_cast<int64_t>(labels.size()) ? labels[i] : 0;
      data << v[2 * i] << ' ' << v[2 * i + 1] << ' ' << label << '\n';
    }
    std::ofstream gp(work / (stem + ".gp"));
    gp << "set terminal pngcairo size " << kScatterWidth << "," << kScatterHeight << " font 'sans,10'\n"
       << "set output " << gnuplot_quote((work / name).string()) << "\n"
       << "set title 'test set: " << what << ", coloured by label (" << p.size(0) << " images)'\n"
       << "set xlabel " << gnuplot_quote(axis_x) << "\nset ylabel " << gnuplot_quote(axis_y)
       << "\nset grid\nunset key\n"
       << (point_colours.empty() ? "" : "set object 1 rectangle from graph 0,0 to graph 1,1 behind fc rgb '#000000'\n")
       << "set palette maxcolors 10\nset palette defined (";
    for (int c = 0; c < 10; ++c) gp << (c ? ", " : "") << c << " '" << kColours[c] << "'";
    gp << ")\nset cbrange [-0.5:9.5]\nset cbtics (";
    for (int c = 0; c < 10; ++c) {
      const std::string label = c < static_cast<int>(class_names.size()) ? class_names[c] : std::to_string(c);
      gp << (c ? ", " : "") << gnuplot_quote(label) << " " << c;
    }
    gp << ")\nplot " << gnuplot_quote((work / (stem + ".dat")).string())
       << " using 1:2:3 with points pt 7 ps 0.5 lc palette\n";
  }
  plot_and_note(in, name, summary);
}

void write_epoch_table(const std::string& path, const std::string& header, const std::vector<EpochReport>& epochs) {
  std::ofstream data(path);
  data << "# " << header << "\n";
  for (const EpochReport& r : epochs) {
    data << r.epoch << ' ' << format_number(r.train_loss, "%.4f");
    for (const double figure : r.test) data << ' ' << format_number(figure, "%.4f");
    data << '\n';
  }
}

std::string format_number(double value, const char* format) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string format_text(const char* format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return text;
}

ReportSummary write_run_report(Family& family, ReportInputs inputs) {
  const fs::path dir(inputs.run_dir);
  const fs::path work = dir / ".report";  // gnuplot scripts and data, removed afterwards
  fs::create_directories(work);
  inputs.work_dir = work.string();
  ReportSummary summary;
  family.write_pictures(inputs, summary);
  write_text_file_atomically((dir / "index.html").string(), run_page(family, inputs));
  summary.written.push_back("index.html");
  fs::remove_all(work);
  return summary;
}

}  // namespace latentkit::trainer
