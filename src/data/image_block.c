/* ImageBlock's type transform: a path becomes a u8 image [C, H, W] (fastai's PILImage.create).
 * Nothing to decode: the image is already what show draws. */
#include <stdlib.h>
#include <string.h>

#include "data_impl.h"

static fc_status read_image(void *state, fc_value *v, const fc_tfm_ctx *ctx) {
    if (!v->text)
        return fc_fail(FC_ERR_ARG, "ImageReader: expected a path, found a %s value without text",
                       v->kind ? v->kind->name : "(no kind)");
    fc_tensor *img = fc_image_read(v->text); /* its errors name the file */
    if (!img) return fc_error_code();
    free(v->text);
    v->text = NULL;
    fc_value_set_tensor(v, fc_kind_image, img);
    return FC_OK;
}

/* Export (h-export): no parameters. */
static char *image_reader_json(void *state) {
    char *p = malloc(3);
    if (!p) fc_fail(FC_ERR_NOMEM, "ImageReader: out of memory");
    else memcpy(p, "{}", 3);
    return p;
}

static const fc_kind *const path_kinds[] = {fc_kind_path, NULL};
static const fc_transform_def image_reader_def = {
    .name = "ImageReader", .order = 0, .kinds = path_kinds, .encodes = read_image,
    .to_json = image_reader_json};

fc_transform *fc_image_reader(void) { return fc_transform_new(&image_reader_def, NULL); }
