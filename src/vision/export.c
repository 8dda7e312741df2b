/* Vision's part of export and inference (h-export): the config a vision learner records (arch, its
 * options, the head's options, input channels, outputs), how a model is rebuilt from it, and the
 * item transforms rebuilt from their parameters. Registers the application "vision" at start-up
 * (a constructor) and again, idempotently, through fc_vision_register for static links that would
 * otherwise drop this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json_impl.h"
#include "models_impl.h"

/* Bounds that keep a corrupt config from asking for an absurd model before the weights are compared
 * with it (input channels, classes, the width multiplier). */
#define MAX_CHANNELS 64
#define MAX_OUT 1000000
#define MAX_WIDEN 4
#define MAX_LIN 16

fc_status fci_vision_record_app(fc_learner *learn, const char *arch, int64_t n_in, int64_t n_out,
                                const fc_model_opts *model, const fc_create_head_opts *head) {
    fci_sbuf b = {0};
    fci_sb_puts(&b, "{\"arch\":");
    fci_sb_json_string(&b, arch);
    fci_sb_printf(&b, ",\"n_in\":%lld,\"n_out\":%lld,\"model\":{\"widen\":%.17g,\"p\":%.17g},\"head\":{\"lin_ftrs\":[",
                  (long long)n_in, (long long)n_out, model->widen, model->p);
    for (int i = 0; head->lin_ftrs && i < head->n_lin_ftrs; i++)
        fci_sb_printf(&b, "%s%lld", i ? "," : "", (long long)head->lin_ftrs[i]);
    fci_sb_printf(&b, "],\"ps\":%.17g,\"no_concat_pool\":%d,\"no_first_bn\":%d,\"bn_final\":%d,\"lin_first\":%d}}",
                  head->ps, head->no_concat_pool, head->no_first_bn, head->bn_final, head->lin_first);
    fc_status st = b.failed ? fc_error_code() : fc_learner_set_app(learn, "vision", b.p);
    free(b.p);
    return st;
}

static int get_int(const fci_json *j, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    double v;
    if (!fci_json_num(j, key, &v) || v != floor(v) || v < (double)lo || v > (double)hi) {
        fc_fail(FC_ERR_FORMAT, "vision config: expected '%s' to be an integer in [%lld, %lld]", key, (long long)lo, (long long)hi);
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}
static int get_real(const fci_json *j, const char *key, double lo, double hi, double *out) {
    double v = 0;
    if (fci_json_get(j, key) && (!fci_json_num(j, key, &v) || !(v >= lo && v <= hi))) {
        fc_fail(FC_ERR_FORMAT, "vision config: expected '%s' to be a number in [%g, %g]", key, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

static fc_module *build_model(const char *config) {
    fci_json j;
    if (fci_json_parse(config, strlen(config), "vision config", "config", &j) != FC_OK) return NULL;
    fc_module *m = NULL;
    const char *arch_name = fci_json_str(&j, "arch");
    const fc_arch *arch = arch_name ? fc_arch_by_name(arch_name) : NULL;
    const fci_json *model = fci_json_get(&j, "model"), *head = fci_json_get(&j, "head");
    const fci_json *lin = fci_json_get(head, "lin_ftrs");
    int64_t n_in = 0, n_out = 0, flags[4] = {0}, lin_ftrs[MAX_LIN];
    fc_model_opts mo = {0};
    fc_create_head_opts ho = {0};
    if (!arch_name) fc_fail(FC_ERR_FORMAT, "vision config: expected an 'arch' name");
    else if (!arch) fci_error_prefix("vision config: ");
    else if (!model || !head || !lin || lin->type != FCI_JSON_ARRAY || lin->n > MAX_LIN)
        fc_fail(FC_ERR_FORMAT, "vision config: expected objects 'model' and 'head' (with 'lin_ftrs', at most %d sizes)", MAX_LIN);
    else if (get_int(&j, "n_in", 1, MAX_CHANNELS, &n_in) && get_int(&j, "n_out", 1, MAX_OUT, &n_out) &&
             get_real(model, "widen", 0, MAX_WIDEN, &mo.widen) && get_real(model, "p", -1, 1, &mo.p) &&
             get_real(head, "ps", -1, 1, &ho.ps) && get_int(head, "no_concat_pool", 0, 1, &flags[0]) &&
             get_int(head, "no_first_bn", 0, 1, &flags[1]) && get_int(head, "bn_final", 0, 1, &flags[2]) &&
             get_int(head, "lin_first", 0, 1, &flags[3])) {
        int ok = 1;
        for (int64_t i = 0; i < lin->n && ok; i++) {
            const fci_json *v = &lin->items[i];
            ok = v->type == FCI_JSON_NUMBER && v->num >= 1 && v->num <= 65536 && v->num == floor(v->num);
            lin_ftrs[i] = ok ? (int64_t)v->num : 0;
        }
        if (!ok) fc_fail(FC_ERR_FORMAT, "vision config: expected 'lin_ftrs' to hold sizes in [1, 65536]");
        ho.lin_ftrs = lin->n ? lin_ftrs : NULL;
        ho.n_lin_ftrs = (int)lin->n;
        ho.no_concat_pool = (int)flags[0], ho.no_first_bn = (int)flags[1], ho.bn_final = (int)flags[2];
        ho.lin_first = (int)flags[3];
        if (ok) m = fci_vision_build_model(arch, n_in, n_out, &mo, &ho);
    }
    fci_json_free(&j);
    return m;
}

/* ---- the item transforms from their parameters ---- */

static const char *const pad_names[] = {"default", "zeros", "reflection", "border", NULL};
static const char *const method_names[] = {"crop", "pad", "squish", NULL};
static int name_index(const char *s, const char *const *names) {
    for (int i = 0; s && names[i]; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

typedef struct vparams {
    int64_t size, w, padding;
    int pad, method;
    double min_scale, max_scale, ratio_lo, ratio_hi, val_xtra;
} vparams;

static int vparse(const char *who, const char *json, vparams *p) {
    fci_json j;
    if (!json || fci_json_parse(json, strlen(json), who, "parameters", &j) != FC_OK) return 0;
    *p = (vparams){0};
    int ok = get_int(&j, "size", 1, 1 << 16, &p->size) && get_int(&j, "w", 1, 1 << 16, &p->w);
    p->pad = name_index(fci_json_str(&j, "pad_mode"), pad_names);
    p->method = fci_json_get(&j, "method") ? name_index(fci_json_str(&j, "method"), method_names) : 0;
    if (ok && (p->pad < 0 || p->method < 0)) ok = !fc_fail(FC_ERR_FORMAT, "%s: unknown pad_mode or method", who);
    if (ok && fci_json_get(&j, "padding")) ok = get_int(&j, "padding", 0, 1 << 16, &p->padding);
    if (ok && fci_json_get(&j, "min_scale"))
        ok = get_real(&j, "min_scale", 1e-9, 1, &p->min_scale) && get_real(&j, "max_scale", 1e-9, 1, &p->max_scale) &&
             get_real(&j, "ratio_lo", 1e-9, 1e9, &p->ratio_lo) && get_real(&j, "ratio_hi", 1e-9, 1e9, &p->ratio_hi) &&
             get_real(&j, "val_xtra", 0, 16, &p->val_xtra);
    fci_json_free(&j);
    if (!ok) fci_error_prefix("%s: ", who);
    return ok;
}

static fc_transform *resize_from_json(const char *json) {
    vparams p;
    return vparse("Resize", json, &p) ? fc_resize(p.size, .w = p.w, .method = (fc_resize_method)p.method, .pad_mode = (fc_pad_mode)p.pad) : NULL;
}
static fc_transform *rrc_from_json(const char *json) {
    vparams p;
    if (!vparse("RandomResizedCrop", json, &p)) return NULL;
    return fc_random_resized_crop(p.size, .w = p.w, .min_scale = p.min_scale, .max_scale = p.max_scale, .ratio_lo = p.ratio_lo,
                                  .ratio_hi = p.ratio_hi, .val_xtra = p.val_xtra > 0 ? p.val_xtra : -1);
}
static fc_transform *crop_pad_from_json(const char *json) {
    vparams p;
    return vparse("CropPad", json, &p) ? fc_crop_pad(p.size, .w = p.w, .pad_mode = (fc_pad_mode)p.pad, .padding = p.padding) : NULL;
}
static fc_transform *random_crop_from_json(const char *json) {
    vparams p;
    return vparse("RandomCrop", json, &p) ? fc_random_crop(p.size, .w = p.w, .pad_mode = (fc_pad_mode)p.pad, .padding = p.padding) : NULL;
}

fc_status fc_vision_register(void) {
    fc_status st = fc_register_app(&(fc_app){.name = "vision", .build_model = build_model});
    if (st == FC_OK) st = fc_transform_register("Resize", resize_from_json);
    if (st == FC_OK) st = fc_transform_register("RandomResizedCrop", rrc_from_json);
    if (st == FC_OK) st = fc_transform_register("CropPad", crop_pad_from_json);
    if (st == FC_OK) st = fc_transform_register("RandomCrop", random_crop_from_json);
    return st;
}

__attribute__((constructor)) static void register_at_start(void) {
    if (fc_vision_register() != FC_OK) fc_error_clear();
}
