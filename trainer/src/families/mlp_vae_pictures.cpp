// The MLP VAE families' pictures of a run (mlp_vae_family.cpp's figures):
//
//   loss.png             train loss and the test negative ELBO with its terms per epoch (gnuplot)
//   reconstructions.png  test inputs each followed by the decoding of its posterior's mode
//   samples.png          8 x 8 prior samples (continuous part N(0, I), each category uniform)
//   control.png          discrete and joint: for each of the first two categorical variables, one
//                        row per category; a column keeps the rest of the latent (one prior draw)
//   latent_scatter.png   mlp and joint: the test images' continuous posterior means by digit
//   latent_colours.png   the same by colour, on coloured data                      (gnuplot)
#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "latentkit/trainer/in_batches.h"
#include "latentkit/trainer/coloured_mnist.h"
#include "latentkit/trainer/families/mlp_vae_family.h"
#include "mlp_vae_columns.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;
using namespace mlp_vae_columns;

namespace {

// `count` prior draws of the latent, [count, latent].
torch::Tensor prior_latents(const MlpVaeShape& s, int64_t count, at::Generator& generator) {
  std::vector<torch::Tensor> parts;
  if (s.continuous > 0) parts.push_back(torch::randn({count, s.continuous}, generator));
  if (s.variables > 0) {
    const torch::Tensor picks = torch::randint(s.categories, {count, s.variables}, generator);
    parts.push_back(torch::one_hot(picks, s.categories).to(torch::kFloat32).flatten(1));
  }
  return torch::cat(parts, 1);
}

void write_tiles(const std::string& path, const torch::Tensor& images, int rows, int cols) {
  const torch::Tensor hwc = images.permute({0, 2, 3, 1}).contiguous().to(torch::kFloat32);
  const ImageSpec spec{static_cast<int>(images.size(2)), static_cast<int>(images.size(3)), static_cast<int>(images.size(1)),
                       ValueRange::unit};
  write_png(path, tile_images(hwc.data_ptr<float>(), spec, rows, cols, 1));
}

}  // namespace

void MlpVaeFamily::write_pictures(const ReportInputs& in, ReportSummary& summary) {
  torch::NoGradGuard no_grad;
  const fs::path dir(in.run_dir);
  const fs::path work(in.work_dir);
  const MlpVaeShape& s = config_.shape;
  {
    write_epoch_table((work / "loss.dat").string(), "epoch train_loss test_loss test_reconstruction test_kl_continuous test_kl_discrete", in.epochs);
    std::ofstream gp(work / "loss.gp");
    gp << "set terminal pngcairo size " << kLossPlotWidth << "," << kLossPlotHeight << " font 'sans,10'\n"
       << "set output " << gnuplot_quote((work / "loss.png").string()) << "\n"
       << "set title 'nats per image (lower is better), " << to_string(in.options.binarization) << " binarisation'\n"
       << "set xlabel 'epoch'\nset ylabel 'nats per image'\nset grid\nset key top right\n"
       << "set xrange [0.5:" << (in.epochs.empty() ? 1 : in.epochs.back().epoch) + 0.5 << "]\n"
       << (in.epochs.size() <= 20 ? "set xtics 1\n" : "")
       << "plot " << gnuplot_quote((work / "loss.dat").string())
       << " using 1:2 with linespoints pt 7 lw 2 title 'train loss', '' using 1:3 with linespoints pt 5 lw 2 title "
          "'test negative ELBO', '' using 1:4 with linespoints pt 9 lw 2 title 'test reconstruction'\n";
  }
  plot_and_note(in, "loss.png", summary);

  if (s.continuous > 0 && in.test_images.size(0) > 0) {
    const torch::Tensor all = in_batches(in.test_images, [&](const torch::Tensor& x) { return model_->encode(x).mean; });
    plot_latent_scatter(in, all, in.test_labels, in.class_names, "latent_scatter.png", "continuous posterior means by digit",
                        summary);
    if (!in.test_colours.empty()) {
      std::vector<std::string> hex;
      for (const NamedColour& c : colour_palette()) {
        char text[8];
        std::snprintf(text, sizeof text, "#%02x%02x%02x", c.rgb[0], c.rgb[1], c.rgb[2]);
        hex.push_back(text);
      }
      plot_latent_scatter(in, all, in.test_colours, colour_names(), "latent_colours.png",
                          "continuous posterior means by colour", summary, hex);
    }
  }

  const int64_t pairs = std::min<int64_t>(kTileRows * kTileColumns, in.test_images.size(0));
  if (pairs > 0) {
    const torch::Tensor x = in.test_images.slice(0, 0, pairs);
    write_pairs_png((dir / "reconstructions.png").string(), x, model_->decode(model_->posterior_mode(model_->encode(x))));
    summary.written.push_back("reconstructions.png");
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(in.options.seed);
  write_tiles((dir / "samples.png").string(), model_->decode(prior_latents(s, 64, generator)), 8, 8);
  summary.written.push_back("samples.png");

  if (s.variables > 0) {
    // Each shown variable's K rows, then a black row between variables.
    const int64_t shown = std::min<int64_t>(2, s.variables), columns = 10;
    const torch::Tensor base = prior_latents(s, columns, generator);
    std::vector<torch::Tensor> rows;
    for (int64_t v = 0; v < shown; ++v) {
      for (int64_t k = 0; k < s.categories; ++k) {
        torch::Tensor z = base.clone();
        const int64_t offset = s.continuous + v * s.categories;
        z.slice(1, offset, offset + s.categories).zero_();
        z.select(1, offset + k).fill_(1);
        rows.push_back(model_->decode(z));
      }
      if (v + 1 < shown) rows.push_back(torch::zeros({columns, s.channels, s.height, s.width}));
    }
    const torch::Tensor images = torch::cat(rows, 0);
    write_tiles((dir / "control.png").string(), images, static_cast<int>(images.size(0) / columns), static_cast<int>(columns));
    summary.written.push_back("control.png");
  }
}

}  // namespace latentkit::trainer
