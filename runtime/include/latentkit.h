/* latentkit.h: the C API of the latentkit runtime (C99; usable from C++).
 *
 * What it does
 * ------------
 * A latentkit model file (.lkm) holds the decoder of a trained variational autoencoder: a small
 * network that turns a latent vector z (a few floats) into an image, and, when the family has
 * one, its encoder (images into latents). This API loads such a file and runs its methods on the
 * CPU, through XNNPACK or a portable reference backend.
 *
 * The model of use
 * ----------------
 *   1. Load once. latentkit_load_file() (or latentkit_load_memory(), which copies the bytes)
 *      verifies the whole file (it is untrusted input) and returns an opaque latentkit_model.
 *      The backend (XNNPACK or reference) and its thread count are chosen here, through a
 *      latentkit_options struct, and cannot change afterwards.
 *   2. Ask what the model is. latentkit_model_info() gives the latent size, the image size and
 *      value range and the provenance (family, dataset, epochs, test metrics).
 *   3. Make latents. latentkit_sample() draws n latents from the model's prior with a seed (the
 *      same seed gives bit-identical latents on every platform); latentkit_grid() lays out a
 *      rows x cols grid over the first two latent dimensions. Or write your own.
 *   4. Decode, as often as you like. latentkit_decode() turns `batch` latents into `batch`
 *      images. The first decode of a batch size builds the backend for that size (the one
 *      allocation); later decodes of the same size allocate nothing and cannot fail for any
 *      reason but bad arguments. latentkit_prepare() does the building ahead of time.
 *      latentkit_sample_decode() is steps 3 and 4 in one call.
 *   5. latentkit_free() the model.
 *
 * Memory layout: every buffer is caller-owned, float32, row-major. Latents are batch x
 * latent_dims; images are batch x height x width x channels (HWC, one image after the other),
 * in the model's value range (LATENTKIT_RANGE_UNIT: [0, 1], LATENTKIT_RANGE_SYMMETRIC: [-1, 1];
 * values are not clamped). Every buffer comes with its capacity in floats, and a call whose
 * buffer is too small is refused (LATENTKIT_INVALID_ARGUMENT) before anything is written.
 *
 * Errors: every function that can fail returns a latentkit_status. LATENTKIT_OK is 0; on
 * failure, latentkit_last_error() gives a message naming what was wrong (for a bad model file:
 * the field and the value), and the outputs are left unchanged (latentkit_load_* set
 * *out_model to NULL). No C++ exception ever leaves this API. Out of memory is reported as
 * LATENTKIT_OUT_OF_MEMORY.
 *
 * Threads: a latentkit_model is not thread-safe (decoding may build and cache a backend); use
 * one model per thread, or serialise calls on a model. Different models are independent. The
 * last error message is per thread. options.threads > 1 gives the XNNPACK backend a worker pool
 * of its own; the reference backend always runs on the calling thread.
 *
 * Example (error checks elided; see examples/c/sample.c for a complete program):
 *
 *   latentkit_model* model = NULL;
 *   if (latentkit_load_file("cvae.lkm", NULL, &model) != LATENTKIT_OK) {
 *     fprintf(stderr, "%s\n", latentkit_last_error());
 *     return 1;
 *   }
 *   latentkit_info info;
 *   latentkit_model_info(model, &info);
 *   size_t nz = 16 * (size_t)info.latent_dims, nx = 16 * (size_t)info.image_pixels;
 *   float* z = malloc(nz * sizeof(float));
 *   float* x = malloc(nx * sizeof(float));
 *   latentkit_sample_decode(model, 16, 7, z, nz, x, nx);   // 16 images from seed 7
 *   latentkit_free(model);
 *
 * Linking: CMake `find_package(latentkit)` then `target_link_libraries(app latentkit::runtime)`,
 * or `pkg-config --cflags --libs latentkit`.
 */
#ifndef LATENTKIT_H
#define LATENTKIT_H

#include <stddef.h>
#include <stdint.h>

/* LATENTKIT_API marks the functions of this API as exported from a shared latentkit library
 * (LATENTKIT_SHARED=ON). On Windows, users of a DLL get LATENTKIT_DLL defined by the CMake
 * package and the pkg-config file; elsewhere nothing needs defining. */
#if defined(_WIN32) && defined(LATENTKIT_DLL)
#  ifdef LATENTKIT_BUILDING
#    define LATENTKIT_API __declspec(dllexport)
#  else
#    define LATENTKIT_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define LATENTKIT_API __attribute__((visibility("default")))
#else
#  define LATENTKIT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API: incremented when a declaration here changes. */
#define LATENTKIT_C_API_VERSION 5

/* ---- status ------------------------------------------------------------------------------- */

typedef enum latentkit_status {
  LATENTKIT_OK = 0,
  LATENTKIT_INVALID_ARGUMENT = 1,  /* a null pointer, a size or batch out of range, a bad name */
  LATENTKIT_IO = 2,                /* the model file could not be opened or read */
  LATENTKIT_MALFORMED_MODEL = 3,   /* the bytes are not a valid latentkit model file */
  LATENTKIT_UNSUPPORTED_MODEL = 4, /* a valid file this runtime cannot run (newer version, ...) */
  LATENTKIT_BACKEND_ERROR = 5,     /* the backend refused (XNNPACK absent or failing) */
  LATENTKIT_OUT_OF_MEMORY = 6,     /* the model or batch needs more than max_memory_bytes allows,
                                      or allocating failed; the message gives the figures */
  LATENTKIT_INTERNAL = 7           /* a bug in latentkit: please report it */
} latentkit_status;

/* A short constant description of a status ("ok", "invalid argument", ...); never NULL. */
LATENTKIT_API const char* latentkit_status_string(latentkit_status status);

/* The message of the last call on this thread that returned a status: "" after LATENTKIT_OK,
 * a non-empty sentence after a failure. Never NULL. The text is owned by the library and
 * stays valid until the next latentkit call on the same thread (latentkit_last_error and
 * latentkit_status_string excepted); copy it to keep it. */
LATENTKIT_API const char* latentkit_last_error(void);

/* ---- loading ------------------------------------------------------------------------------ */

typedef enum latentkit_backend {
  LATENTKIT_BACKEND_DEFAULT = 0,   /* XNNPACK when this build has it, else the reference one */
  LATENTKIT_BACKEND_XNNPACK = 1,   /* the fast path */
  LATENTKIT_BACKEND_REFERENCE = 2  /* portable loops: slow, the oracle for tests */
} latentkit_backend;

/* "xnnpack" or "reference", as the command-line tools spell them (also "default"). */
LATENTKIT_API latentkit_status latentkit_backend_from_name(const char* name,
                                                           latentkit_backend* out_backend);
/* "xnnpack", "reference" or "default"; NULL for a value outside the enum. */
LATENTKIT_API const char* latentkit_backend_name(latentkit_backend backend);
/* 1 if this build of the runtime has `backend` (DEFAULT always), else 0. */
LATENTKIT_API int latentkit_backend_available(latentkit_backend backend);

typedef struct latentkit_options {
  latentkit_backend backend; /* LATENTKIT_BACKEND_DEFAULT */
  int threads;               /* XNNPACK worker threads, 0..256; 0 and 1: the calling thread */
  /* The most memory a model may need at any batch size used with it (its bytes, widened
   * constants, activations, backend workspace), checked at load for batch 1 and whenever a
   * batch size is first used; 0: the runtime's default (1 GiB). */
  uint64_t max_memory_bytes;
} latentkit_options;

/* The defaults: { LATENTKIT_BACKEND_DEFAULT, 1, 0 }. Start from these and change what you need. */
LATENTKIT_API latentkit_options latentkit_default_options(void);

/* A loaded, verified model and the backends built for it. Opaque. */
typedef struct latentkit_model latentkit_model;

/* Loads and verifies a model file. `options` may be NULL (the defaults). On success *out_model
 * is a new model, to be released with latentkit_free(); on failure it is set to NULL (when
 * out_model itself is not NULL). */
LATENTKIT_API latentkit_status latentkit_load_file(const char* path,
                                                   const latentkit_options* options,
                                                   latentkit_model** out_model);
/* The same from `size` bytes at `data`, which are copied: the caller may free them on return. */
LATENTKIT_API latentkit_status latentkit_load_memory(const void* data, size_t size,
                                                     const latentkit_options* options,
                                                     latentkit_model** out_model);
/* Releases a model and everything built for it. NULL is allowed and does nothing. */
LATENTKIT_API void latentkit_free(latentkit_model* model);

/* ---- what the model is -------------------------------------------------------------------- */

typedef enum latentkit_value_range {
  LATENTKIT_RANGE_UNIT = 0,      /* pixels in [0, 1] */
  LATENTKIT_RANGE_SYMMETRIC = 1  /* pixels in [-1, 1] */
} latentkit_value_range;

/* Filled by latentkit_model_info. Later versions of this API may add fields at the end. */
typedef struct latentkit_info {
  int latent_dims;                   /* floats per latent vector */
  int image_height, image_width, image_channels;
  int image_pixels;                  /* height x width x channels: floats per image */
  latentkit_value_range value_range;
  uint32_t format_version;           /* of the file */
  size_t file_size;                  /* bytes */
  latentkit_backend backend;         /* the one in use (never DEFAULT) */
  int threads;                       /* as used by the backend (at least 1) */
  /* Provenance: strings owned by the model, valid until latentkit_free; "" when unknown. */
  const char* model_family;          /* e.g. "cvae" */
  const char* dataset;               /* e.g. "mnist" */
  int epochs;
  int metric_count;                  /* see latentkit_model_metric */
} latentkit_info;

LATENTKIT_API latentkit_status latentkit_model_info(const latentkit_model* model,
                                                    latentkit_info* out_info);
/* Test metric `index` (0 <= index < metric_count): its name (owned by the model) and value.
 * Either output pointer may be NULL. */
LATENTKIT_API latentkit_status latentkit_model_metric(const latentkit_model* model, int index,
                                                      const char** out_name, double* out_value);
/* The metric called `name` (e.g. "test_elbo"); LATENTKIT_INVALID_ARGUMENT if there is none. */
LATENTKIT_API latentkit_status latentkit_model_metric_by_name(const latentkit_model* model,
                                                              const char* name,
                                                              double* out_value);

/* ---- latents ------------------------------------------------------------------------------ */

/* n (>= 1) latent vectors from the model's prior, drawn from `seed`: n x latent_dims floats
 * into `latents` (capacity in floats). Bit-identical to latentkit::sample_latents in C++ and the
 * same on every platform: Gaussian dimensions are standard normal (or drawn from the group's
 * mixture prior, latentkit_latent_group_components), a categorical group gets one category set
 * to 1 (drawn uniformly, or from the file's category prior when it has one: `latentkit-sample
 * FILE info` lists its shares). */
LATENTKIT_API latentkit_status latentkit_sample(const latentkit_model* model, int n,
                                                uint64_t seed, float* latents,
                                                size_t latents_capacity);

/* The default range of a grid axis: the 5 % and 95 % quantiles of N(0, 1), about -1.645 and
 * +1.645. Either pointer may be NULL. */
LATENTKIT_API void latentkit_default_grid_range(float* out_lo, float* out_hi);

/* A rows x cols grid of latents, row-major (rows * cols * latent_dims floats), as
 * latentkit::grid_latents: the first latent dimension goes left to right from x_lo to x_hi, the
 * second top to bottom from y_hi down to y_lo (like a plot's axes), all others are 0. An axis
 * whose lo == hi gets the default range. Needs a model whose first latent group has at least 2
 * Gaussian dimensions; rows and cols 1..1024. */
LATENTKIT_API latentkit_status latentkit_grid(const latentkit_model* model, int rows, int cols,
                                              float x_lo, float x_hi, float y_lo, float y_hi,
                                              float* latents, size_t latents_capacity);

/* ---- latent groups ------------------------------------------------------------------------ */
/* A latent vector is the concatenation of the model's latent groups, in order: a Gaussian group
 * of `size` dimensions, or a categorical one of `count` variables, each a one-hot over `size`
 * categories (a discrete or joint VAE's code), which may carry a label per category ("7", "red").
 * To ask for a category ("draw a 7"), sample latents, set the category, then decode. */
typedef enum latentkit_latent_kind {
  LATENTKIT_LATENT_GAUSSIAN = 0,
  LATENTKIT_LATENT_CATEGORICAL = 1
} latentkit_latent_kind;

/* Filled by latentkit_latent_group_info. Later versions of this API may add fields at the end. */
typedef struct latentkit_latent_group {
  const char* name;           /* owned by the model; "" when the file gives none */
  latentkit_latent_kind kind;
  int size;                   /* Gaussian: dimensions; categorical: categories per variable */
  int count;                  /* categorical: variables (one-hots); Gaussian: 1 */
  int offset;                 /* the group's first float within a latent vector */
  int dims;                   /* the group's floats: size x count */
  int label_count;            /* categorical: 0 or size (see latentkit_latent_group_label) */
} latentkit_latent_group;

LATENTKIT_API latentkit_status latentkit_latent_group_count(const latentkit_model* model,
                                                            int* out_count);
LATENTKIT_API latentkit_status latentkit_latent_group_info(const latentkit_model* model, int group,
                                                           latentkit_latent_group* out_group);
/* The number of components of a Gaussian group's mixture prior (latentkit_sample draws from it);
 * 0 for a group sampled from N(0, I) and for a categorical group. A function rather than a field
 * of latentkit_latent_group so that its size stays that of version 4. */
LATENTKIT_API latentkit_status latentkit_latent_group_components(const latentkit_model* model,
                                                                 int group, int* out_components);
/* The label of category `category` of a categorical group (owned by the model). */
LATENTKIT_API latentkit_status latentkit_latent_group_label(const latentkit_model* model,
                                                            int group, int category,
                                                            const char** out_label);
/* The index of the latent group called `name`; LATENTKIT_INVALID_ARGUMENT naming the model's
 * categorical groups when there is none. */
LATENTKIT_API latentkit_status latentkit_find_latent_group(const latentkit_model* model, const char* name,
                                                           int* out_group);
/* The category of `group` that `label_or_index` names: one of its labels ("red", "7"), else a
 * decimal index, as latentkit-sample's --set takes it; LATENTKIT_INVALID_ARGUMENT listing the
 * labels when neither matches. */
LATENTKIT_API latentkit_status latentkit_find_category(const latentkit_model* model, int group,
                                                       const char* label_or_index, int* out_category);
/* In each of the n latents at `latents` (latents_count floats, at least n x latent_dims), puts
 * variable `variable` of categorical group `group` on category `category` (a one-hot); the other
 * floats are left as they are. Refused, writing nothing, for a Gaussian group or an index out
 * of range. */
LATENTKIT_API latentkit_status latentkit_set_category(const latentkit_model* model, int group,
                                                      int variable, int category, float* latents,
                                                      size_t latents_count, int n);

/* One row per category of categorical group `group` (its size rows), `cols` columns with the
 * first latent dimension from x_lo to x_hi (the default range when x_lo == x_hi), every other
 * dimension as in latentkit_grid: size x cols x latent_dims floats, row-major. What
 * `latentkit-sample grid --sweep GROUP` decodes. */
LATENTKIT_API latentkit_status latentkit_category_grid(const latentkit_model* model, int group, int cols,
                                                       float x_lo, float x_hi, float* latents,
                                                       size_t latents_capacity);

/* ---- decoding ----------------------------------------------------------------------------- */

/* Builds the backend for `batch` now instead of at the first decode of that batch size. */
LATENTKIT_API latentkit_status latentkit_prepare(latentkit_model* model, int batch);

/* Decodes `batch` (>= 1) latent vectors into `batch` images. latents_count is the number of
 * floats available at `latents` (at least batch x latent_dims; only those are read);
 * images_capacity is the room at `images` in floats (at least batch x image_pixels). */
LATENTKIT_API latentkit_status latentkit_decode(latentkit_model* model, const float* latents,
                                                size_t latents_count, int batch, float* images,
                                                size_t images_capacity);

/* latentkit_sample then latentkit_decode: n images from the prior with `seed`. `latents` may be
 * NULL (then latents_capacity is ignored); otherwise it receives the latents used. */
LATENTKIT_API latentkit_status latentkit_sample_decode(latentkit_model* model, int n,
                                                       uint64_t seed, float* latents,
                                                       size_t latents_capacity, float* images,
                                                       size_t images_capacity);

/* ---- methods ------------------------------------------------------------------------------ */
/* A model file holds one or more named methods: "decode" (latents -> images), and for models
 * that have an encoder "encode" (images -> posterior means and log-variances) and "reconstruct"
 * (images -> images: decode of the encoder's mean). latentkit_decode and
 * latentkit_sample_decode run "decode"; the functions below run the others. Each method's
 * backends are built at the first call of a batch size and kept, as for decoding. */
/* The number of methods, and the name of method `index` (owned by the model). */
LATENTKIT_API latentkit_status latentkit_method_count(const latentkit_model* model, int* out_count);
LATENTKIT_API latentkit_status latentkit_method_name(const latentkit_model* model, int index,
                                                     const char** out_name);
/* 1 if the model has a method called `name`, else 0 (also for NULL arguments). */
LATENTKIT_API int latentkit_has_method(const latentkit_model* model, const char* name);
/* What method `method` takes and gives: its number of inputs and outputs, and for each the
 * role of its values and how many floats one batch item has (an image's are image_pixels,
 * HWC). What latentkit_run's buffers must hold. */
typedef enum latentkit_role {
  LATENTKIT_ROLE_LATENT = 0,             /* a point of the latent space: latent_dims floats */
  LATENTKIT_ROLE_IMAGE = 1,              /* an image: image_pixels floats */
  LATENTKIT_ROLE_LATENT_MEAN = 2,        /* a Gaussian posterior's mean */
  LATENTKIT_ROLE_LATENT_LOG_VARIANCE = 3 /* its log-variance per dimension */
} latentkit_role;
LATENTKIT_API latentkit_status latentkit_method_arity(const latentkit_model* model, const char* method,
                                                      int* out_inputs, int* out_outputs);
/* Input (is_output 0) or output (is_output 1) `index` of `method`; either pointer may be NULL. */
LATENTKIT_API latentkit_status latentkit_method_value(const latentkit_model* model, const char* method,
                                                      int is_output, int index, latentkit_role* out_role,
                                                      size_t* out_floats_per_item);
/* Encodes `batch` images (batch x image_pixels floats, HWC, in the model's value range) into the
 * means and log-variances of their posteriors (batch x latent_dims floats each). A plain
 * autoencoder's "encode" gives one code per image: it is written to `means`, and
 * `log_variances` may be NULL; if not, it is filled with -INFINITY (a posterior of zero
 * variance). LATENTKIT_INVALID_ARGUMENT if the model has no "encode" method. */
LATENTKIT_API latentkit_status latentkit_encode(latentkit_model* model, const float* images,
                                                size_t images_count, int batch, float* means,
                                                size_t means_capacity, float* log_variances,
                                                size_t log_variances_capacity);
/* Reconstructs `batch` images: decode(encode(x).mean), batch x image_pixels floats in and out. */
LATENTKIT_API latentkit_status latentkit_reconstruct(latentkit_model* model, const float* images,
                                                     size_t images_count, int batch,
                                                     float* reconstructions,
                                                     size_t reconstructions_capacity);
/* Runs any method by name: inputs[i] holds input_counts[i] floats (at least batch x that input's
 * size), outputs[i] has room for output_capacities[i] floats; input_count and output_count must
 * equal the method's. */
LATENTKIT_API latentkit_status latentkit_run(latentkit_model* model, const char* method, int batch,
                                             const float* const* inputs, const size_t* input_counts,
                                             size_t input_count, float* const* outputs,
                                             const size_t* output_capacities, size_t output_count);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* LATENTKIT_H */
