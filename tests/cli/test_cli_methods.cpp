// The exported CVAE's encoder through latentkit-sample: encode, reconstruct, denoise and
// interpolation between images, with PNG and IDX inputs; a plain autoencoder's code; and the
// refusals (a picture of the wrong size, a model without an encoder, a start given twice, a
// corruption that does not parse or fit).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "latentkit/model_writer.h"
#include "runtime/autoencoder_model.h"

#include <stb_image.h>

namespace fs = std::filesystem;

using namespace latentkit::cli_test;

namespace {

const std::string test_images = std::string(LATENTKIT_MNIST_DIR) + "/t10k-images-idx3-ubyte";

struct Grey {
  int width = 0, height = 0;
  std::vector<unsigned char> pixels;
  // Mean of the rows [top, bottom) in 0..255.
  double mean(int top, int bottom) const {
    double sum = 0;
    for (int y = top; y < bottom; ++y) {
      for (int x = 0; x < width; ++x) sum += pixels[static_cast<std::size_t>(y * width + x)];
    }
    return sum / ((bottom - top) * width);
  }
};

Grey load_grey(const fs::path& path) {
  Grey g;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &g.width, &g.height, &channels, 1);
  REQUIRE_MESSAGE(data != nullptr, "cannot read " << path.string());
  g.pixels.assign(data, data + g.width * g.height);
  stbi_image_free(data);
  return g;
}

}  // namespace

TEST_CASE("encode prints each image's code, reconstruct draws inputs above their reconstructions") {
  Journey& j = journey();
  REQUIRE(j.exported.exit_code == 0);
  const std::string model = quoted(j.model) + " ";

  const Run code = run(sample_cli + " " + model + "encode " + test_images + ":0 " + test_images + ":1");
  INFO(code.output);
  REQUIRE(code.exit_code == 0);
  CHECK(code.output.find(test_images + ":0: mean ") != std::string::npos);
  CHECK(code.output.find(test_images + ":1: mean ") != std::string::npos);
  CHECK(code.output.find("log-variance ") != std::string::npos);

  const fs::path picture = j.dir / "reconstruction.png";
  const Run rec = run(sample_cli + " " + model + "reconstruct " + test_images + ":0 " + test_images + ":1 " +
                      test_images + ":2 -o " + quoted(picture));
  INFO(rec.output);
  REQUIRE(rec.exit_code == 0);
  CHECK(rec.output.find("mean squared error") != std::string::npos);
  const Grey g = load_grey(picture);
  CHECK(g.width == 3 * 28);
  CHECK(g.height == 2 * 28);
  // Digits above (about 1/5 of MNIST's pixels are ink), something drawn below: a decoder after
  // one short epoch draws blurred strokes, never an empty picture.
  CHECK(g.mean(0, 28) > 20);
  CHECK(g.mean(28, 56) > 10);

  // A PNG the tools wrote reads back as input: reconstruct a decoded digit.
  const fs::path one = j.dir / "one-for-reconstruct.png";
  REQUIRE(run(sample_cli + " " + model + "decode --z 0,0 -o " + quoted(one)).exit_code == 0);
  const Run from_png = run(sample_cli + " --backend reference " + model + "reconstruct " + quoted(one) + " -o " +
                           quoted(j.dir / "rec-one.png"));
  INFO(from_png.output);
  CHECK(from_png.exit_code == 0);
  CHECK(load_grey(j.dir / "rec-one.png").height == 56);
}

TEST_CASE("denoise draws the images, their corrupted copies and the reconstructions, with the PSNR of each") {
  Journey& j = journey();
  REQUIRE(j.exported.exit_code == 0);
  const std::string model = quoted(j.model) + " ";
  const std::string inputs = test_images + ":0 " + test_images + ":1 ";
  const fs::path masked = j.dir / "denoised-mask.png";
  const Run mask = run(sample_cli + " " + model + "denoise " + inputs + "--corrupt mask:0.5 --seed 3 -o " + quoted(masked));
  INFO(mask.output);
  REQUIRE(mask.exit_code == 0);
  CHECK(mask.output.find("corrupted (mask:0.5, seed 3)") != std::string::npos);
  CHECK(mask.output.find("PSNR against the images: corrupted ") != std::string::npos);
  const Grey g = load_grey(masked);
  CHECK(g.width == 2 * 28);
  CHECK(g.height == 3 * 28);
  // Half the pixels blacked out: the middle row keeps about half the ink of the top one.
  CHECK(g.mean(0, 28) > 20);
  CHECK(g.mean(28, 56) > 0.3 * g.mean(0, 28));
  CHECK(g.mean(28, 56) < 0.7 * g.mean(0, 28));
  CHECK(g.mean(56, 84) > 10);

  // The same seed corrupts the same way; a patch is a square of black.
  const fs::path again = j.dir / "denoised-mask-again.png";
  REQUIRE(run(sample_cli + " " + model + "denoise " + inputs + "--corrupt mask:0.5 --seed 3 -o " + quoted(again))
              .exit_code == 0);
  CHECK(load_grey(again).pixels == g.pixels);
  const fs::path patched = j.dir / "denoised-patch.png";
  REQUIRE(run(sample_cli + " " + model + "denoise " + test_images + ":0 --corrupt mask-patch:28 -o " + quoted(patched))
              .exit_code == 0);
  const Grey p = load_grey(patched);
  CHECK(p.mean(0, 28) > 20);
  CHECK(p.mean(28, 56) == 0);  // the whole image

  const fs::path out = j.dir / "denoise-refused.png";
  Run r = run(sample_cli + " " + model + "denoise " + inputs + "--corrupt blur:3 -o " + quoted(out));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("corruption 'blur:3': unknown kind 'blur'") != std::string::npos);
  r = run(sample_cli + " " + model + "denoise " + inputs + "--corrupt mask:1.5 -o " + quoted(out));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("the fraction must be within 0..1") != std::string::npos);
  r = run(sample_cli + " " + model + "denoise " + inputs + "--corrupt mask-patch:29 -o " + quoted(out));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("a 29x29 patch does not fit in 28x28 images") != std::string::npos);
  CHECK(!fs::exists(out));
}

TEST_CASE("a plain autoencoder's encode prints its code") {
  Journey& j = journey();
  const fs::path model = j.dir / "plain-autoencoder.lkm";
  {
    const std::vector<uint8_t> bytes = latentkit::serialize_model(latentkit::testing::plain_autoencoder(2));
    std::ofstream(model, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                 static_cast<std::streamsize>(bytes.size()));
  }
  const fs::path image = j.dir / "plain-autoencoder-input.png";  // 3x3, decoded by the model itself
  REQUIRE(run(sample_cli + " " + quoted(model) + " decode --z 0.5,-0.5 -o " + quoted(image)).exit_code == 0);
  const Run code = run(sample_cli + " " + quoted(model) + " encode " + quoted(image));
  INFO(code.output);
  REQUIRE(code.exit_code == 0);
  CHECK(code.output.find(image.string() + ": code ") != std::string::npos);
  CHECK(code.output.find("mean") == std::string::npos);
  CHECK(code.output.find("log-variance") == std::string::npos);

  // Without decode (a max-unpooling decoder's file): info says what it cannot do, and the
  // commands that decode a free code are refused by name.
  const fs::path no_decode = j.dir / "no-decode.lkm";
  {
    const std::vector<uint8_t> bytes = latentkit::serialize_model(latentkit::testing::plain_autoencoder(2, false));
    std::ofstream(no_decode, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                     static_cast<std::streamsize>(bytes.size()));
  }
  const Run info = run(sample_cli + " " + quoted(no_decode) + " info");
  INFO(info.output);
  REQUIRE(info.exit_code == 0);
  CHECK(info.output.find("does not decode a free code") != std::string::npos);
  CHECK(run(sample_cli + " " + quoted(no_decode) + " reconstruct " + quoted(image) + " -o " +
            quoted(j.dir / "no-decode-rec.png")).exit_code == 0);
  const Run sample = run(sample_cli + " " + quoted(no_decode) + " sample -n 4 -o " + quoted(j.dir / "no-decode.png"));
  CHECK(sample.exit_code == 1);
  CHECK(sample.output.find("no method 'decode' (it has: encode, reconstruct)") != std::string::npos);
  CHECK(!fs::exists(j.dir / "no-decode.png"));
}

TEST_CASE("interpolate between two images' codes") {
  Journey& j = journey();
  REQUIRE(j.exported.exit_code == 0);
  const fs::path morph = j.dir / "morph.png";
  const Run line = run(sample_cli + " " + quoted(j.model) + " interpolate --from-image " + test_images +
                       ":0 --to-image " + test_images + ":1 --steps 5 -o " + quoted(morph));
  INFO(line.output);
  REQUIRE(line.exit_code == 0);
  const Grey g = load_grey(morph);
  CHECK(g.width == 5 * 28);
  CHECK(g.mean(0, 28) > 10);
}

TEST_CASE("image inputs that do not fit, and models without an encoder, are refused") {
  Journey& j = journey();
  REQUIRE(j.exported.exit_code == 0);
  const std::string model = quoted(j.model) + " ";
  const fs::path out = j.dir / "refused.png";

  // A 5x5 grid is 140x140: no silent resize.
  const fs::path grid = j.dir / "grid-for-refusal.png";
  REQUIRE(run(sample_cli + " " + model + "grid 5x5 -o " + quoted(grid)).exit_code == 0);
  Run r = run(sample_cli + " " + model + "reconstruct " + quoted(grid) + " -o " + quoted(out));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("is 140x140x1 but the model takes 28x28x1 images") != std::string::npos);
  CHECK(!fs::exists(out));

  r = run(sample_cli + " " + model + "encode " + test_images + ":10000");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("10000") != std::string::npos);

  r = run(sample_cli + " " + model + "interpolate --from 0,0 --from-image " + test_images + ":0 --to 1,1 -o " +
          quoted(out));
  CHECK(r.exit_code != 0);
  CHECK(!fs::exists(out));

  // A version-1 file holds a decoder only.
  const std::string v1 = std::string(LATENTKIT_SOURCE_DIR) + "/tests/fixtures/format-v1/cvae-fp32.lkm";
  r = run(sample_cli + " " + v1 + " reconstruct " + test_images + ":0 -o " + quoted(out));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("no method 'reconstruct' (it has: decode)") != std::string::npos);
  CHECK(!fs::exists(out));
}
