/* The C API (latentkit.h), tested from C.
 *
 *   test_c_api DIR
 *
 * DIR holds what make_c_api_fixture wrote with the C++ API: model files and the expected
 * latents and images. Prints every failed check and "N passed, N failed"; exits 1 on failure. */
#include "latentkit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++passed;                                                                \
    } else {                                                                   \
      ++failed;                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* `call` returns `expected`; the last error is "" after success, a sentence after failure. */
#define CHECK_STATUS(call, expected)                                                               \
  do {                                                                                             \
    const latentkit_status got_ = (call);                                                          \
    const char* message_ = latentkit_last_error();                                                 \
    if (got_ == (expected) && message_ != NULL &&                                                  \
        ((expected) == LATENTKIT_OK ? message_[0] == '\0' : strlen(message_) > 10)) {              \
      ++passed;                                                                                    \
    } else {                                                                                       \
      ++failed;                                                                                    \
      fprintf(stderr, "%s:%d: %s\n  returned %d (%s), expected %d (%s); last error: '%s'\n",       \
              __FILE__, __LINE__, #call, (int)got_, latentkit_status_string(got_),                 \
              (int)(expected), latentkit_status_string(expected), message_ ? message_ : "(null)"); \
    }                                                                                              \
  } while (0)

static const char* fixture_dir;

static char* path_in_fixture(const char* name) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", fixture_dir, name);
  return path;
}

/* The whole file, malloc'ed; *size set. Exits on failure (the fixture is missing). */
static void* read_file(const char* name, size_t* size) {
  const char* path = path_in_fixture(name);
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open fixture file %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void* data = malloc(n > 0 ? (size_t)n : 1);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "cannot read fixture file %s\n", path);
    exit(2);
  }
  fclose(f);
  *size = (size_t)n;
  return data;
}

static float* read_floats(const char* name, size_t* count) {
  size_t bytes = 0;
  float* values = (float*)read_file(name, &bytes);
  *count = bytes / sizeof(float);
  return values;
}

static int file_exists(const char* name) {
  FILE* f = fopen(path_in_fixture(name), "rb");
  if (f) fclose(f);
  return f != NULL;
}

static float max_abs_difference(const float* a, const float* b, size_t n) {
  float worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = fabsf(a[i] - b[i]);
    if (!(d <= worst)) worst = d; /* NaN counts as worst */
  }
  return worst;
}

static latentkit_model* load(const char* name, latentkit_backend backend, int threads) {
  latentkit_options options = latentkit_default_options();
  options.backend = backend;
  options.threads = threads;
  latentkit_model* model = NULL;
  CHECK_STATUS(latentkit_load_file(path_in_fixture(name), &options, &model), LATENTKIT_OK);
  CHECK(model != NULL);
  if (!model) {
    fprintf(stderr, "cannot go on without %s\n", name);
    exit(1);
  }
  return model;
}

enum { kLatentDims = 3, kPixels = 28 * 28, kBatch = 5 };

static void test_status_strings(void) {
  CHECK(strcmp(latentkit_status_string(LATENTKIT_OK), "ok") == 0);
  CHECK(strcmp(latentkit_status_string(LATENTKIT_OUT_OF_MEMORY), "out of memory") == 0);
  CHECK(strlen(latentkit_status_string((latentkit_status)99)) > 0);
  CHECK(latentkit_last_error() != NULL);
  CHECK(strcmp(latentkit_backend_name(LATENTKIT_BACKEND_XNNPACK), "xnnpack") == 0);
  CHECK(latentkit_backend_name((latentkit_backend)42) == NULL);
  CHECK(latentkit_backend_available(LATENTKIT_BACKEND_REFERENCE) == 1);
  CHECK(latentkit_backend_available(LATENTKIT_BACKEND_DEFAULT) == 1);
  CHECK(latentkit_backend_available((latentkit_backend)42) == 0);
  latentkit_backend backend = LATENTKIT_BACKEND_DEFAULT;
  CHECK_STATUS(latentkit_backend_from_name("reference", &backend), LATENTKIT_OK);
  CHECK(backend == LATENTKIT_BACKEND_REFERENCE);
  CHECK_STATUS(latentkit_backend_from_name("xnnpack", &backend), LATENTKIT_OK);
  CHECK(backend == LATENTKIT_BACKEND_XNNPACK);
  CHECK_STATUS(latentkit_backend_from_name("cuda", &backend), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "cuda") != NULL);
  CHECK(backend == LATENTKIT_BACKEND_XNNPACK); /* unchanged on failure */
  CHECK_STATUS(latentkit_backend_from_name(NULL, &backend), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_backend_from_name("xnnpack", NULL), LATENTKIT_INVALID_ARGUMENT);
  latentkit_options options = latentkit_default_options();
  CHECK(options.backend == LATENTKIT_BACKEND_DEFAULT && options.threads == 1);
}

static void test_info(void) {
  latentkit_model* model = load("model.lkm", LATENTKIT_BACKEND_DEFAULT, 1);
  size_t file_size = 0;
  free(read_file("model.lkm", &file_size));
  latentkit_info info;
  CHECK_STATUS(latentkit_model_info(model, &info), LATENTKIT_OK);
  CHECK(info.latent_dims == kLatentDims);
  CHECK(info.image_height == 28 && info.image_width == 28 && info.image_channels == 1);
  CHECK(info.image_pixels == kPixels);
  CHECK(info.value_range == LATENTKIT_RANGE_UNIT);
  CHECK(info.format_version == 2);
  CHECK(info.file_size == file_size);
  CHECK(info.backend == (latentkit_backend_available(LATENTKIT_BACKEND_XNNPACK)
                             ? LATENTKIT_BACKEND_XNNPACK
                             : LATENTKIT_BACKEND_REFERENCE));
  CHECK(info.threads == 1);
  CHECK(strcmp(info.model_family, "cvae") == 0);
  CHECK(strcmp(info.dataset, "mnist") == 0);
  CHECK(info.epochs == 3);
  CHECK(info.metric_count == 2);

  const char* name = NULL;
  double value = 0;
  CHECK_STATUS(latentkit_model_metric(model, 1, &name, &value), LATENTKIT_OK);
  CHECK(name != NULL && strcmp(name, "test_kl_nats") == 0 && value == 5.75);
  CHECK_STATUS(latentkit_model_metric(model, 0, NULL, &value), LATENTKIT_OK);
  CHECK(value == -159.5);
  CHECK_STATUS(latentkit_model_metric(model, 2, &name, &value), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_model_metric(model, -1, &name, &value), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_model_metric_by_name(model, "test_elbo_nats", &value), LATENTKIT_OK);
  CHECK(value == -159.5);
  CHECK_STATUS(latentkit_model_metric_by_name(model, "fid", &value), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "fid") != NULL);
  CHECK_STATUS(latentkit_model_metric_by_name(model, NULL, &value), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_model_metric_by_name(model, "fid", NULL), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_model_info(NULL, &info), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_model_info(model, NULL), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_model_metric(NULL, 0, &name, &value), LATENTKIT_INVALID_ARGUMENT);
  latentkit_free(model);

  model = load("model.lkm", LATENTKIT_BACKEND_REFERENCE, 0);
  CHECK_STATUS(latentkit_model_info(model, &info), LATENTKIT_OK);
  CHECK(info.backend == LATENTKIT_BACKEND_REFERENCE && info.threads == 1);
  latentkit_free(model);
}

/* Decoding through the C API gives what the C++ Decoder gave on the same latents. */
static void test_decode(void) {
  size_t nz = 0, nref = 0;
  float* z = read_floats("sample.f32", &nz);
  float* expected = read_floats("decode_reference.f32", &nref);
  CHECK(nz == kBatch * kLatentDims && nref == kBatch * kPixels);
  float* images = (float*)malloc((kBatch * kPixels + 1) * sizeof(float));
  images[kBatch * kPixels] = -7.0f; /* sentinel: nothing is written past the batch */

  latentkit_model* reference = load("model.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  CHECK_STATUS(latentkit_decode(reference, z, nz, kBatch, images, kBatch * kPixels + 1),
               LATENTKIT_OK);
  CHECK(memcmp(images, expected, nref * sizeof(float)) == 0);
  CHECK(images[kBatch * kPixels] == -7.0f);
  /* one at a time: another backend build, the same numbers */
  float one[kPixels];
  int same = 1;
  for (int i = 0; i < kBatch; ++i) {
    CHECK_STATUS(latentkit_decode(reference, z + i * kLatentDims, kLatentDims, 1, one, kPixels),
                 LATENTKIT_OK);
    same = same && max_abs_difference(one, expected + i * kPixels, kPixels) <= 1e-6f;
  }
  CHECK(same);

  if (latentkit_backend_available(LATENTKIT_BACKEND_XNNPACK)) {
    size_t nx = 0;
    float* expected_xnnpack = read_floats("decode_xnnpack.f32", &nx);
    CHECK(nx == nref);
    latentkit_model* xnnpack = load("model.lkm", LATENTKIT_BACKEND_XNNPACK, 1);
    CHECK_STATUS(latentkit_prepare(xnnpack, kBatch), LATENTKIT_OK);
    CHECK_STATUS(latentkit_decode(xnnpack, z, nz, kBatch, images, kBatch * kPixels), LATENTKIT_OK);
    CHECK(memcmp(images, expected_xnnpack, nx * sizeof(float)) == 0);
    CHECK(max_abs_difference(images, expected, nref) <= 1e-4f);
    latentkit_free(xnnpack);

    xnnpack = load("model.lkm", LATENTKIT_BACKEND_XNNPACK, 2);
    CHECK_STATUS(latentkit_decode(xnnpack, z, nz, kBatch, images, kBatch * kPixels), LATENTKIT_OK);
    CHECK(max_abs_difference(images, expected_xnnpack, nx) <= 1e-6f);
    latentkit_free(xnnpack);
    free(expected_xnnpack);
  } else {
    latentkit_options options = latentkit_default_options();
    options.backend = LATENTKIT_BACKEND_XNNPACK;
    latentkit_model* none = NULL;
    CHECK_STATUS(latentkit_load_file(path_in_fixture("model.lkm"), &options, &none),
                 LATENTKIT_BACKEND_ERROR);
  }

  /* bad arguments: refused before anything is written */
  for (int i = 0; i < kBatch * kPixels; ++i) images[i] = -1.0f;
  CHECK_STATUS(latentkit_decode(NULL, z, nz, kBatch, images, nref), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_decode(reference, NULL, nz, kBatch, images, nref),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_decode(reference, z, nz, kBatch, NULL, nref), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_decode(reference, z, nz, 0, images, nref), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "batch") != NULL);
  CHECK_STATUS(latentkit_decode(reference, z, nz, -3, images, nref), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_decode(reference, z, nz, kBatch + 1, images, nref + kPixels),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_decode(reference, z, nz - 1, kBatch, images, nref),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_decode(reference, z, nz, kBatch, images, nref - 1),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "images") != NULL);
  CHECK_STATUS(latentkit_decode(reference, z, nz, 0x7fffffff, images, (size_t)-1),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_prepare(reference, 0), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_prepare(NULL, 1), LATENTKIT_INVALID_ARGUMENT);
  CHECK(images[0] == -1.0f && images[kBatch * kPixels - 1] == -1.0f);
  /* and the model still works after all that */
  CHECK_STATUS(latentkit_decode(reference, z, nz, kBatch, images, nref), LATENTKIT_OK);
  CHECK(memcmp(images, expected, nref * sizeof(float)) == 0);

  latentkit_free(reference);
  free(images);
  free(expected);
  free(z);
}

/* encode, reconstruct and latentkit_run on the three-method autoencoder of the fixture; the
 * decoder-only model has no encode. */
static void test_methods(void) {
  enum { kImages = 4, kAePixels = 9, kAeLatent = 2 };
  size_t n = 0, nm = 0, nv = 0, nr = 0;
  float* images = read_floats("ae_images.f32", &n);
  float* expected_means = read_floats("ae_means.f32", &nm);
  float* expected_log_variances = read_floats("ae_log_variances.f32", &nv);
  float* expected_reconstructions = read_floats("ae_reconstructions.f32", &nr);
  CHECK(n == kImages * kAePixels && nm == kImages * kAeLatent && nv == nm && nr == n);
  float means[kImages * kAeLatent], log_variances[kImages * kAeLatent], out[kImages * kAePixels];

  latentkit_model* model = load("autoencoder.lkm", LATENTKIT_BACKEND_DEFAULT, 1);
  int count = 0;
  CHECK_STATUS(latentkit_method_count(model, &count), LATENTKIT_OK);
  CHECK(count == 3);
  const char* name = NULL;
  CHECK_STATUS(latentkit_method_name(model, 0, &name), LATENTKIT_OK);
  CHECK(name != NULL && strcmp(name, "encode") == 0);
  CHECK_STATUS(latentkit_method_name(model, 3, &name), LATENTKIT_INVALID_ARGUMENT);
  CHECK(latentkit_has_method(model, "reconstruct") == 1);
  CHECK(latentkit_has_method(model, "translate") == 0);
  CHECK(latentkit_has_method(NULL, "decode") == 0);
  /* each method's signature: encode(image[3,3,1]) -> latent_mean[2], latent_log_variance[2] */
  int inputs_n = 0, outputs_n = 0;
  CHECK_STATUS(latentkit_method_arity(model, "encode", &inputs_n, &outputs_n), LATENTKIT_OK);
  CHECK(inputs_n == 1 && outputs_n == 2);
  latentkit_role role = LATENTKIT_ROLE_LATENT;
  size_t floats = 0;
  CHECK_STATUS(latentkit_method_value(model, "encode", 0, 0, &role, &floats), LATENTKIT_OK);
  CHECK(role == LATENTKIT_ROLE_IMAGE && floats == kAePixels);
  CHECK_STATUS(latentkit_method_value(model, "encode", 1, 1, &role, &floats), LATENTKIT_OK);
  CHECK(role == LATENTKIT_ROLE_LATENT_LOG_VARIANCE && floats == kAeLatent);
  CHECK_STATUS(latentkit_method_value(model, "decode", 1, 0, &role, NULL), LATENTKIT_OK);
  CHECK(role == LATENTKIT_ROLE_IMAGE);
  CHECK_STATUS(latentkit_method_value(model, "encode", 1, 2, &role, &floats), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_method_arity(model, "translate", &inputs_n, &outputs_n), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "no method 'translate'") != NULL);

  CHECK_STATUS(latentkit_encode(model, images, n, kImages, means, nm, log_variances, nv), LATENTKIT_OK);
  CHECK(max_abs_difference(means, expected_means, nm) <= 1e-5f);
  CHECK(max_abs_difference(log_variances, expected_log_variances, nv) <= 1e-5f);
  CHECK(max_abs_difference(means, log_variances, nm) > 1e-3f);
  CHECK_STATUS(latentkit_reconstruct(model, images, n, kImages, out, n), LATENTKIT_OK);
  CHECK(max_abs_difference(out, expected_reconstructions, nr) <= 1e-5f);
  /* reconstruct is decode of the means */
  float decoded[kImages * kAePixels];
  CHECK_STATUS(latentkit_decode(model, means, nm, kImages, decoded, n), LATENTKIT_OK);
  CHECK(max_abs_difference(decoded, out, n) <= 1e-5f);

  /* latentkit_run by name gives the same */
  const float* inputs[1] = {images};
  const size_t input_counts[1] = {n};
  float* outputs[2] = {means, log_variances};
  const size_t capacities[2] = {nm, nv};
  for (size_t i = 0; i < nm; ++i) means[i] = log_variances[i] = 0.0f;
  CHECK_STATUS(latentkit_run(model, "encode", kImages, inputs, input_counts, 1, outputs, capacities, 2),
               LATENTKIT_OK);
  CHECK(max_abs_difference(means, expected_means, nm) <= 1e-5f);
  CHECK_STATUS(latentkit_run(model, "encode", kImages, inputs, input_counts, 1, outputs, capacities, 1),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_run(model, "translate", kImages, inputs, input_counts, 1, outputs, capacities, 2),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "no method 'translate'") != NULL);

  /* too small a buffer: refused, nothing written */
  for (size_t i = 0; i < nm; ++i) means[i] = -9.0f;
  CHECK_STATUS(latentkit_encode(model, images, n - 1, kImages, means, nm, log_variances, nv),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "images") != NULL);
  CHECK_STATUS(latentkit_encode(model, images, n, kImages, means, nm - 1, log_variances, nv),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "means") != NULL);
  CHECK_STATUS(latentkit_encode(model, images, n, kImages, means, nm, NULL, nv), LATENTKIT_INVALID_ARGUMENT);
  CHECK(means[0] == -9.0f);
  latentkit_free(model);

  latentkit_model* decoder_only = load("model.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  CHECK_STATUS(latentkit_method_count(decoder_only, &count), LATENTKIT_OK);
  CHECK(count == 1);
  CHECK_STATUS(latentkit_encode(decoder_only, images, n, 1, means, nm, log_variances, nv),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "no method 'encode' (it has: decode)") != NULL);
  latentkit_free(decoder_only);
  free(images);
  free(expected_means);
  free(expected_log_variances);
  free(expected_reconstructions);
}

static void test_load_memory(void) {
  size_t size = 0;
  unsigned char* bytes = (unsigned char*)read_file("model.lkm", &size);
  latentkit_model* model = NULL;
  latentkit_options options = latentkit_default_options();
  options.backend = LATENTKIT_BACKEND_REFERENCE;
  CHECK_STATUS(latentkit_load_memory(bytes, size, &options, &model), LATENTKIT_OK);
  CHECK(model != NULL);
  memset(bytes, 0xAB, size); /* the model has its own copy */
  free(bytes);

  size_t nz = 0, nref = 0;
  float* z = read_floats("sample.f32", &nz);
  float* expected = read_floats("decode_reference.f32", &nref);
  float* images = (float*)malloc(nref * sizeof(float));
  CHECK_STATUS(latentkit_decode(model, z, nz, kBatch, images, nref), LATENTKIT_OK);
  CHECK(memcmp(images, expected, nref * sizeof(float)) == 0);
  latentkit_info info;
  CHECK_STATUS(latentkit_model_info(model, &info), LATENTKIT_OK);
  CHECK(info.file_size == size && strcmp(info.model_family, "cvae") == 0);
  latentkit_free(model);
  free(images);
  free(expected);
  free(z);
}

/* Same seed, same latents: bit for bit what latentkit::sample_latents gave. */
static void test_sample(void) {
  latentkit_model* model = load("model.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  size_t nz = 0, nref = 0;
  float* expected = read_floats("sample.f32", &nz);
  float* expected_images = read_floats("decode_reference.f32", &nref);
  float z[kBatch * kLatentDims + 1], again[kBatch * kLatentDims], other[kBatch * kLatentDims];
  z[kBatch * kLatentDims] = 42.0f;
  CHECK_STATUS(latentkit_sample(model, kBatch, 7, z, kBatch * kLatentDims + 1), LATENTKIT_OK);
  CHECK(memcmp(z, expected, sizeof again) == 0);
  CHECK(z[kBatch * kLatentDims] == 42.0f);
  CHECK_STATUS(latentkit_sample(model, kBatch, 7, again, kBatch * kLatentDims), LATENTKIT_OK);
  CHECK(memcmp(z, again, sizeof again) == 0);
  CHECK_STATUS(latentkit_sample(model, kBatch, 8, other, kBatch * kLatentDims), LATENTKIT_OK);
  CHECK(memcmp(z, other, sizeof other) != 0);
  /* the first latent of n samples is the first of a longer run */
  CHECK_STATUS(latentkit_sample(model, 1, 7, other, kLatentDims), LATENTKIT_OK);
  CHECK(memcmp(other, expected, kLatentDims * sizeof(float)) == 0);

  float* images = (float*)malloc(nref * sizeof(float));
  CHECK_STATUS(latentkit_sample_decode(model, kBatch, 7, again, kBatch * kLatentDims, images, nref),
               LATENTKIT_OK);
  CHECK(memcmp(again, expected, sizeof again) == 0);
  CHECK(memcmp(images, expected_images, nref * sizeof(float)) == 0);
  memset(images, 0, nref * sizeof(float));
  CHECK_STATUS(latentkit_sample_decode(model, kBatch, 7, NULL, 0, images, nref), LATENTKIT_OK);
  CHECK(memcmp(images, expected_images, nref * sizeof(float)) == 0);

  CHECK_STATUS(latentkit_sample(NULL, 1, 7, z, kLatentDims), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample(model, 1, 7, NULL, kLatentDims), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample(model, 0, 7, z, kLatentDims), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample(model, -1, 7, z, kLatentDims), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample(model, 2, 7, z, 2 * kLatentDims - 1), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample_decode(model, kBatch, 7, z, kLatentDims, images, nref),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample_decode(model, kBatch, 7, NULL, 0, images, nref - 1),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample_decode(model, 0, 7, NULL, 0, images, nref),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample_decode(model, 1, 7, NULL, 0, NULL, nref),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_sample_decode(NULL, 1, 7, NULL, 0, images, nref),
               LATENTKIT_INVALID_ARGUMENT);
  latentkit_free(model);
  free(images);
  free(expected_images);
  free(expected);
}

/* A categorical group: described, labelled, and set in sampled latents. */
static void test_latent_groups(void) {
  latentkit_model* model = load("categorical.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  int count = -1;
  CHECK_STATUS(latentkit_latent_group_count(model, &count), LATENTKIT_OK);
  CHECK(count == 2);
  latentkit_latent_group group;
  CHECK_STATUS(latentkit_latent_group_info(model, 0, &group), LATENTKIT_OK);
  CHECK(group.kind == LATENTKIT_LATENT_GAUSSIAN && group.size == 2 && group.offset == 0 && group.dims == 2);
  CHECK_STATUS(latentkit_latent_group_info(model, 1, &group), LATENTKIT_OK);
  CHECK(group.kind == LATENTKIT_LATENT_CATEGORICAL && group.size == 3 && group.count == 1);
  CHECK(group.offset == 2 && group.dims == 3 && group.label_count == 3);
  CHECK(strcmp(group.name, "colour") == 0);
  const char* label = NULL;
  CHECK_STATUS(latentkit_latent_group_label(model, 1, 2, &label), LATENTKIT_OK);
  CHECK(label != NULL && strcmp(label, "blue") == 0);

  int index = -1;
  CHECK_STATUS(latentkit_find_latent_group(model, "colour", &index), LATENTKIT_OK);
  CHECK(index == 1);
  CHECK_STATUS(latentkit_find_latent_group(model, "digit", &index), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "no latent group 'digit' (its categorical groups: colour)") != NULL);
  CHECK_STATUS(latentkit_find_category(model, 1, "blue", &index), LATENTKIT_OK);
  CHECK(index == 2);
  CHECK_STATUS(latentkit_find_category(model, 1, "0", &index), LATENTKIT_OK);
  CHECK(index == 0);
  CHECK_STATUS(latentkit_find_category(model, 1, "purple", &index), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "its labels: red, green, blue") != NULL);
  CHECK_STATUS(latentkit_find_category(model, 2, "red", &index), LATENTKIT_INVALID_ARGUMENT);

  enum { n = 6, dims = 5 };
  float z[n * dims], before[n * dims];
  CHECK_STATUS(latentkit_sample(model, n, 3, z, n * dims), LATENTKIT_OK);
  memcpy(before, z, sizeof z);
  CHECK_STATUS(latentkit_set_category(model, 1, 0, 1, z, n * dims, n), LATENTKIT_OK);
  for (int i = 0; i < n; ++i) {
    CHECK(z[i * dims] == before[i * dims] && z[i * dims + 1] == before[i * dims + 1]);
    CHECK(z[i * dims + 2] == 0.0f && z[i * dims + 3] == 1.0f && z[i * dims + 4] == 0.0f);
  }
  memcpy(before, z, sizeof z);
  CHECK_STATUS(latentkit_set_category(model, 0, 0, 0, z, n * dims, n), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "Gaussian") != NULL);
  CHECK_STATUS(latentkit_set_category(model, 1, 0, 3, z, n * dims, n), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_set_category(model, 1, 1, 0, z, n * dims, n), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_set_category(model, 2, 0, 0, z, n * dims, n), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_set_category(model, 1, 0, 0, z, n * dims - 1, n), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_set_category(model, 1, 0, 0, NULL, n * dims, n), LATENTKIT_INVALID_ARGUMENT);
  CHECK(memcmp(z, before, sizeof z) == 0);
  /* one row per colour, z1 along the columns */
  float grid[3 * 4 * dims];
  CHECK_STATUS(latentkit_category_grid(model, 1, 4, -1.0f, 2.0f, grid, 3 * 4 * dims), LATENTKIT_OK);
  for (int row = 0; row < 3; ++row) {
    for (int col = 0; col < 4; ++col) {
      const float* one = grid + (row * 4 + col) * dims;
      CHECK(one[0] == -1.0f + (float)col && one[1] == 0.0f);
      CHECK(one[2] == (row == 0 ? 1.0f : 0.0f) && one[3] == (row == 1 ? 1.0f : 0.0f) && one[4] == (row == 2 ? 1.0f : 0.0f));
    }
  }
  CHECK_STATUS(latentkit_category_grid(model, 0, 4, -1.0f, 2.0f, grid, 3 * 4 * dims), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "Gaussian") != NULL);
  CHECK_STATUS(latentkit_category_grid(model, 1, 4, -1.0f, 2.0f, grid, 3 * 4 * dims - 1), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_latent_group_info(model, 2, &group), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_latent_group_label(model, 0, 0, &label), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_latent_group_label(model, 1, 3, &label), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_latent_group_count(NULL, &count), LATENTKIT_INVALID_ARGUMENT);
  latentkit_free(model);
}

/* A mixture prior: its component count, and latentkit_sample drawing from it as the C++ API does. */
static void test_mixture_prior(void) {
  latentkit_model* model = load("mixture.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  int components = -1;
  CHECK_STATUS(latentkit_latent_group_components(model, 0, &components), LATENTKIT_OK);
  CHECK(components == 3);
  CHECK_STATUS(latentkit_latent_group_components(model, 1, &components), LATENTKIT_OK);
  CHECK(components == 0);
  CHECK_STATUS(latentkit_latent_group_components(model, 2, &components), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_latent_group_components(model, 0, NULL), LATENTKIT_INVALID_ARGUMENT);
  size_t n = 0;
  float* expected = read_floats("mixture_sample.f32", &n);
  CHECK(n == 6 * 5);
  float z[6 * 5];
  CHECK_STATUS(latentkit_sample(model, 6, 7, z, 6 * 5), LATENTKIT_OK);
  CHECK(memcmp(z, expected, sizeof z) == 0);
  latentkit_free(model);
  free(expected);

  model = load("categorical.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  CHECK_STATUS(latentkit_latent_group_components(model, 0, &components), LATENTKIT_OK);
  CHECK(components == 0);
  latentkit_free(model);
}

/* Layout: row-major; z1 left to right from x_lo, z2 top to bottom from y_hi; others 0. */
static void test_grid(void) {
  latentkit_model* model = load("model.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  enum { kRows = 3, kCols = 4, kCount = kRows * kCols * kLatentDims };
  size_t n = 0;
  float* expected = read_floats("grid.f32", &n);
  CHECK(n == kCount);
  float z[kCount];
  CHECK_STATUS(latentkit_grid(model, kRows, kCols, -1.0f, 2.0f, -0.5f, 1.5f, z, kCount),
               LATENTKIT_OK);
  CHECK(memcmp(z, expected, sizeof z) == 0);
  int layout = 1;
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) {
      const float* v = z + (r * kCols + c) * kLatentDims;
      layout = layout && fabsf(v[0] - (-1.0f + 3.0f * (float)c / (kCols - 1))) < 1e-6f;
      layout = layout && fabsf(v[1] - (1.5f - 2.0f * (float)r / (kRows - 1))) < 1e-6f;
      layout = layout && v[2] == 0.0f;
    }
  }
  CHECK(layout);
  CHECK(z[0] == -1.0f && z[1] == 1.5f);                   /* top left */
  CHECK(z[kCount - 3] == 2.0f && z[kCount - 2] == -0.5f); /* bottom right */

  /* lo == hi: the default range, the 5 % and 95 % normal quantiles */
  float lo = 0, hi = 0;
  latentkit_default_grid_range(&lo, &hi);
  CHECK(fabsf(lo + 1.6448536f) < 1e-5f && fabsf(hi - 1.6448536f) < 1e-5f);
  latentkit_default_grid_range(NULL, NULL);
  free(expected);
  expected = read_floats("grid_default.f32", &n);
  float d[2 * 2 * kLatentDims];
  CHECK(n == 2 * 2 * kLatentDims);
  CHECK_STATUS(latentkit_grid(model, 2, 2, 0.0f, 0.0f, 0.0f, 0.0f, d, 2 * 2 * kLatentDims),
               LATENTKIT_OK);
  CHECK(memcmp(d, expected, sizeof d) == 0);
  CHECK(d[0] == lo && d[1] == hi);
  /* one axis given, the other defaulted */
  CHECK_STATUS(latentkit_grid(model, 2, 2, -3.0f, 3.0f, 1.0f, 1.0f, d, 2 * 2 * kLatentDims),
               LATENTKIT_OK);
  CHECK(d[0] == -3.0f && d[1] == hi && d[kLatentDims] == 3.0f);

  CHECK_STATUS(latentkit_grid(NULL, 2, 2, 0, 0, 0, 0, d, 12), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_grid(model, 2, 2, 0, 0, 0, 0, NULL, 12), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_grid(model, 0, 2, 0, 0, 0, 0, d, 12), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_grid(model, 2, 2000, 0, 0, 0, 0, d, 12), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_grid(model, 2, 2, 0, 0, 0, 0, d, 11), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_grid(model, 2, 2, (float)NAN, 1, 0, 0, d, 12), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_grid(model, 2, 2, 0, (float)INFINITY, 0, 0, d, 12),
               LATENTKIT_INVALID_ARGUMENT);
  latentkit_free(model);

  /* a grid needs two Gaussian dimensions */
  latentkit_model* one = load("model_1d.lkm", LATENTKIT_BACKEND_REFERENCE, 1);
  CHECK_STATUS(latentkit_grid(one, 2, 2, 0, 0, 0, 0, d, 12), LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "Gaussian") != NULL);
  latentkit_free(one);
  free(expected);
}

static void test_load_errors(void) {
  latentkit_model* sentinel = (latentkit_model*)&passed; /* never dereferenced */
  latentkit_model* model = sentinel;

  CHECK_STATUS(latentkit_load_file(NULL, NULL, &model), LATENTKIT_INVALID_ARGUMENT);
  CHECK(model == NULL);
  CHECK(strstr(latentkit_last_error(), "path") != NULL);
  CHECK_STATUS(latentkit_load_file(path_in_fixture("model.lkm"), NULL, NULL),
               LATENTKIT_INVALID_ARGUMENT);

  model = sentinel;
  CHECK_STATUS(latentkit_load_file(path_in_fixture("no-such-model.lkm"), NULL, &model),
               LATENTKIT_IO);
  CHECK(model == NULL);
  CHECK(strstr(latentkit_last_error(), "no-such-model.lkm") != NULL);

  /* truncated: in memory and as a file */
  size_t size = 0;
  unsigned char* bytes = (unsigned char*)read_file("model.lkm", &size);
  model = sentinel;
  CHECK_STATUS(latentkit_load_memory(bytes, size / 2, NULL, &model), LATENTKIT_MALFORMED_MODEL);
  CHECK(model == NULL);
  CHECK_STATUS(latentkit_load_memory(bytes, 7, NULL, &model), LATENTKIT_MALFORMED_MODEL);
  FILE* f = fopen(path_in_fixture("truncated.lkm"), "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK(fwrite(bytes, 1, size - 100, f) == size - 100);
    fclose(f);
  }
  model = sentinel;
  CHECK_STATUS(latentkit_load_file(path_in_fixture("truncated.lkm"), NULL, &model),
               LATENTKIT_MALFORMED_MODEL);
  CHECK(model == NULL);
  CHECK(strstr(latentkit_last_error(), "truncated.lkm") != NULL);
  /* not a model at all */
  unsigned char garbage[256];
  for (int i = 0; i < 256; ++i) garbage[i] = (unsigned char)(i * 37 + 11);
  CHECK_STATUS(latentkit_load_memory(garbage, sizeof garbage, NULL, &model),
               LATENTKIT_MALFORMED_MODEL);
  CHECK_STATUS(latentkit_load_memory(NULL, size, NULL, &model), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_load_memory(bytes, 0, NULL, &model), LATENTKIT_INVALID_ARGUMENT);
  CHECK_STATUS(latentkit_load_memory(bytes, size, NULL, NULL), LATENTKIT_INVALID_ARGUMENT);

  /* a newer format */
  CHECK_STATUS(latentkit_load_file(path_in_fixture("model_v99.lkm"), NULL, &model),
               LATENTKIT_UNSUPPORTED_MODEL);
  CHECK(strstr(latentkit_last_error(), "99") != NULL);

  /* bad options */
  latentkit_options options = latentkit_default_options();
  options.backend = (latentkit_backend)42;
  model = sentinel;
  CHECK_STATUS(latentkit_load_memory(bytes, size, &options, &model), LATENTKIT_INVALID_ARGUMENT);
  CHECK(model == NULL);
  CHECK(strstr(latentkit_last_error(), "backend") != NULL);
  options = latentkit_default_options();
  options.threads = -1;
  CHECK_STATUS(latentkit_load_memory(bytes, size, &options, &model), LATENTKIT_INVALID_ARGUMENT);
  options.threads = 100000;
  CHECK_STATUS(latentkit_load_file(path_in_fixture("model.lkm"), &options, &model),
               LATENTKIT_INVALID_ARGUMENT);
  CHECK(strstr(latentkit_last_error(), "threads") != NULL);

  /* a failure does not stick: the next good call clears the message */
  options = latentkit_default_options();
  CHECK_STATUS(latentkit_load_memory(bytes, size, &options, &model), LATENTKIT_OK);
  latentkit_free(model);
  free(bytes);

  latentkit_free(NULL);
  CHECK(1); /* free(NULL) returned */
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FIXTURE_DIR (written by make_c_api_fixture)\n", argv[0]);
    return 2;
  }
  fixture_dir = argv[1];
  if (latentkit_backend_available(LATENTKIT_BACKEND_XNNPACK) &&
      !file_exists("decode_xnnpack.f32")) {
    fprintf(stderr, "the fixture has no XNNPACK output although this runtime has XNNPACK\n");
    return 2;
  }
  test_status_strings();
  test_info();
  test_decode();
  test_methods();
  test_load_memory();
  test_sample();
  test_grid();
  test_latent_groups();
  test_mixture_prior();
  test_load_errors();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
