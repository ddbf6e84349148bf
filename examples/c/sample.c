/* Sampling images from a latentkit model, in plain C.
 *
 *   latentkit-sample-c MODEL.lkm [-n COUNT] [--seed SEED] [--backend xnnpack|reference]
 *                      [--threads N] [-o OUT.pgm]
 *
 * Loads the model, prints what it is, draws COUNT latents from its prior with SEED, decodes
 * them and writes them tiled into one binary PGM (grey images) or PPM (colour images).
 * The same seed gives the same latents on every platform. */
#include <latentkit.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char* program) {
  fprintf(stderr,
          "usage: %s MODEL.lkm [-n COUNT] [--seed SEED] [--backend xnnpack|reference] "
          "[--threads N] [-o OUT.pgm]\n",
          program);
  return 2;
}

/* 8-bit pixel from a decoded value in the model's range; clamped and rounded. */
static unsigned char to_byte(float v, latentkit_value_range range) {
  float unit = range == LATENTKIT_RANGE_SYMMETRIC ? 0.5f * (v + 1.0f) : v;
  if (!(unit > 0.0f)) unit = 0.0f; /* NaN too */
  if (unit > 1.0f) unit = 1.0f;
  return (unsigned char)lrintf(unit * 255.0f);
}

/* Tiles `count` HWC images into a rows x cols picture (black where there is no image) and
 * writes it as P5 (1 channel) or P6 (3 channels). Returns 0 on success. */
static int write_picture(const char* path, const float* images, int count,
                         const latentkit_info* info) {
  const int h = info->image_height, w = info->image_width, c = info->image_channels;
  if (c != 1 && c != 3) {
    fprintf(stderr, "%d-channel images cannot be written as PGM/PPM\n", c);
    return 1;
  }
  int cols = (int)ceil(sqrt((double)count));
  int rows = (count + cols - 1) / cols;
  const size_t width = (size_t)cols * w, height = (size_t)rows * h;
  unsigned char* pixels = calloc(width * height * c, 1);
  if (!pixels) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (int i = 0; i < count; ++i) {
    const float* image = images + (size_t)i * info->image_pixels;
    const size_t top = (size_t)(i / cols) * h, left = (size_t)(i % cols) * w;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w * c; ++x) {
        pixels[((top + y) * width + left) * c + x] =
            to_byte(image[y * w * c + x], info->value_range);
      }
    }
  }
  FILE* f = fopen(path, "wb");
  int ok = f != NULL;
  if (ok) {
    ok = fprintf(f, "P%c\n%zu %zu\n255\n", c == 1 ? '5' : '6', width, height) > 0 &&
         fwrite(pixels, 1, width * height * c, f) == width * height * c;
    ok = (fclose(f) == 0) && ok;
  }
  free(pixels);
  if (!ok) {
    fprintf(stderr, "cannot write %s\n", path);
    return 1;
  }
  printf("wrote %s: %d image(s), %dx%d tiles, %zux%zu pixels\n", path, count, rows, cols, width,
         height);
  return 0;
}

static void print_info(const latentkit_model* model, const latentkit_info* info) {
  printf("model:    %s trained on %s for %d epoch(s), format version %u, %zu bytes\n",
         info->model_family[0] ? info->model_family : "(unknown family)",
         info->dataset[0] ? info->dataset : "(unknown data)", info->epochs,
         (unsigned)info->format_version, info->file_size);
  printf("latents:  %d dimension(s)\n", info->latent_dims);
  printf("images:   %dx%d, %d channel(s), values in %s\n", info->image_height, info->image_width,
         info->image_channels, info->value_range == LATENTKIT_RANGE_UNIT ? "[0, 1]" : "[-1, 1]");
  printf("backend:  %s, %d thread(s)\n", latentkit_backend_name(info->backend), info->threads);
  for (int i = 0; i < info->metric_count; ++i) {
    const char* name = NULL;
    double value = 0;
    if (latentkit_model_metric(model, i, &name, &value) == LATENTKIT_OK) {
      printf("metric:   %s = %g\n", name, value);
    }
  }
}

int main(int argc, char** argv) {
  const char* model_path = NULL;
  const char* output = "samples.pgm";
  int count = 16;
  unsigned long long seed = 0;
  latentkit_options options = latentkit_default_options();

  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "-n") == 0 && value) {
      count = atoi(value);
      ++i;
    } else if (strcmp(arg, "--seed") == 0 && value) {
      seed = strtoull(value, NULL, 10);
      ++i;
    } else if (strcmp(arg, "--backend") == 0 && value) {
      if (latentkit_backend_from_name(value, &options.backend) != LATENTKIT_OK) {
        fprintf(stderr, "%s\n", latentkit_last_error());
        return 2;
      }
      ++i;
    } else if (strcmp(arg, "--threads") == 0 && value) {
      options.threads = atoi(value);
      ++i;
    } else if (strcmp(arg, "-o") == 0 && value) {
      output = value;
      ++i;
    } else if (arg[0] != '-' && !model_path) {
      model_path = arg;
    } else {
      return usage(argv[0]);
    }
  }
  if (!model_path || count < 1 || count > 10000) return usage(argv[0]);

  /* 1. load (verifies the file; chooses the backend) */
  latentkit_model* model = NULL;
  if (latentkit_load_file(model_path, &options, &model) != LATENTKIT_OK) {
    fprintf(stderr, "%s\n", latentkit_last_error());
    return 1;
  }
  /* 2. what it is */
  latentkit_info info;
  if (latentkit_model_info(model, &info) != LATENTKIT_OK) {
    fprintf(stderr, "%s\n", latentkit_last_error());
    latentkit_free(model);
    return 1;
  }
  print_info(model, &info);

  /* 3 and 4. sample `count` latents from the prior and decode them, in one call */
  const size_t latent_floats = (size_t)count * info.latent_dims;
  const size_t image_floats = (size_t)count * info.image_pixels;
  float* latents = malloc(latent_floats * sizeof(float));
  float* images = malloc(image_floats * sizeof(float));
  int status = 1;
  if (!latents || !images) {
    fprintf(stderr, "out of memory\n");
  } else if (latentkit_sample_decode(model, count, (uint64_t)seed, latents, latent_floats, images,
                                     image_floats) != LATENTKIT_OK) {
    fprintf(stderr, "%s\n", latentkit_last_error());
  } else {
    printf("z[0] =");
    for (int d = 0; d < info.latent_dims && d < 8; ++d) printf(" %.4f", latents[d]);
    printf("%s (seed %llu)\n", info.latent_dims > 8 ? " ..." : "", seed);
    status = write_picture(output, images, count, &info);
  }

  /* 5. release */
  free(images);
  free(latents);
  latentkit_free(model);
  return status;
}
