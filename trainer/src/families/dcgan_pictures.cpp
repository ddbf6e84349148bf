// The dcgan family's pictures of a run (dcgan_family.cpp's figures):
//
//   loss.png     per epoch: the train loss (both players' summed), the test losses of the
//                generator and the discriminator, and on a second axis D(x) and D(G(z)) (gnuplot)
//   frechet.png  the Fréchet distance per epoch, when the run has a --judge (gnuplot)
//   samples.png  8 x 8 generator samples (eval mode) of latents drawn from the run's seed: the
//                same latents in every run of that seed, so that runs compare picture to picture
//   samples_by_epoch.png  the rows end_epoch recorded, one per kept epoch (dcgan_family.h)
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "latentkit/trainer/families/dcgan_family.h"
#include "dcgan_columns.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;
using namespace dcgan_columns;

void DcganFamily::write_pictures(const ReportInputs& in, ReportSummary& summary) {
  torch::NoGradGuard no_grad;
  const fs::path dir(in.run_dir);
  const fs::path work(in.work_dir);
  const std::string xrange =
      "set xrange [0.5:" + std::to_string((in.epochs.empty() ? 1 : in.epochs.back().epoch)) + ".5]\n" +
      (in.epochs.size() <= 20 ? "set xtics 1\n" : "");
  {
    write_epoch_table((work / "loss.dat").string(), "epoch train_loss test_generator_loss test_discriminator_loss test_d_real test_d_fake test_frechet", in.epochs);
    std::ofstream gp(work / "loss.gp");
    gp << "set terminal pngcairo size " << kLossPlotWidth << "," << kLossPlotHeight << " font 'sans,10'\n"
       << "set output " << gnuplot_quote((work / "loss.png").string()) << "\n"
       << "set title 'the two players (a GAN loss does not say how good the samples are)'\n"
       << "set xlabel 'epoch'\nset ylabel 'nats per image'\nset y2label 'mean discriminator output'\n"
       << "set y2range [0:1]\nset y2tics\nset ytics nomirror\nset grid\nset key outside bottom center horizontal\n"
       << xrange << "plot " << gnuplot_quote((work / "loss.dat").string())
       << " using 1:2 with linespoints pt 7 lw 2 title 'train loss (D + G)', '' using 1:3 with linespoints pt 5 lw 2 "
          "title 'test generator', '' using 1:4 with linespoints pt 9 lw 2 title 'test discriminator', '' using 1:5 "
          "axes x1y2 with linespoints dt 2 pt 4 lw 2 title 'D(x)', '' using 1:6 axes x1y2 with linespoints dt 3 pt 6 "
          "lw 2 title 'D(G(z))'\n";
  }
  plot_and_note(in, "loss.png", summary);

  const bool measured = !in.epochs.empty() && std::isfinite(in.epochs.back().test[kFrechet]);
  if (measured) {
    std::ofstream gp(work / "frechet.gp");
    gp << "set terminal pngcairo size " << kLossPlotWidth << "," << kLossPlotHeight << " font 'sans,10'\n"
       << "set output " << gnuplot_quote((work / "frechet.png").string()) << "\n"
       << "set title 'Fréchet distance to the test images in the judge''s feature space (lower is better)'\n"
       << "set xlabel 'epoch'\nset ylabel 'Fréchet distance'\nset grid\nset key off\n"
       << xrange << "plot " << gnuplot_quote((work / "loss.dat").string()) << " using 1:7 with linespoints pt 7 lw 2\n";
    gp.close();
    plot_and_note(in, "frechet.png", summary);
  }

  auto generator = at::make_generator<at::CPUGeneratorImpl>(in.options.seed);
  const torch::Tensor z = torch::randn({kTileRows * kTileColumns, config_.shape.latent}, generator);
  const bool was_training = generator_->is_training();
  generator_->eval();
  const torch::Tensor images = generator_->forward(z);
  generator_->train(was_training);
  const torch::Tensor hwc = images.permute({0, 2, 3, 1}).contiguous();
  const ImageSpec spec{static_cast<int>(DcganShape::kSide), static_cast<int>(DcganShape::kSide),
                       static_cast<int>(config_.shape.channels), ValueRange::unit};
  write_png((dir / "samples.png").string(), tile_images(hwc.data_ptr<float>(), spec, kTileRows, kTileColumns, 1));
  summary.written.push_back("samples.png");

  const torch::Tensor course = recorded_samples();
  if (course.size(0) > 0) {
    const torch::Tensor rows = course.flatten(0, 1).permute({0, 2, 3, 1}).contiguous();
    write_png((dir / "samples_by_epoch.png").string(),
              tile_images(rows.data_ptr<float>(), spec, static_cast<int>(course.size(0)), kProgressColumns, 1));
    summary.written.push_back("samples_by_epoch.png");
  }
}

}  // namespace latentkit::trainer
