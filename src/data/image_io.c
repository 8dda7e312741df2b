/* Image files: PNG (libpng) and JPEG (libjpeg-turbo) to u8 [C, H, W], and PNG writing.
 * Both libraries report errors by longjmp: everything the jump skips over (buffers, the tensor) is
 * held in volatile locals and released after it, and libjpeg's default error_exit (which calls
 * exit) and its stderr messages are replaced, so a corrupt file is an error, never a crash. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>

#include "../core/core_impl.h"
#include "fastc/data.h"

/* Files are read whole (images are small; one read, and truncation is plain to see). */
static fc_status read_file(const char *path, unsigned char **data, size_t *n) {
    *data = NULL, *n = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fc_fail(FC_ERR_IO, "image_read: cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    fc_status s = FC_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        s = fc_fail(FC_ERR_IO, "image_read: cannot read '%s': %s", path,
                    S_ISDIR(st.st_mode) ? "Is a directory" : strerror(errno));
        goto done;
    }
    size_t size = (size_t)st.st_size;
    *data = malloc(size ? size : 1);
    if (!*data) {
        s = fc_fail(FC_ERR_NOMEM, "image_read: out of memory (%zu bytes for '%s')", size, path);
        goto done;
    }
    while (*n < size) {
        ssize_t r = read(fd, *data + *n, size - *n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s = fc_fail(FC_ERR_IO, "image_read: cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        *n += (size_t)r;
    }
done:
    close(fd);
    if (s != FC_OK) {
        free(*data);
        *data = NULL;
    }
    return s;
}

/* A new u8 [C, H, W] tensor outside any scope. */
static fc_tensor *image_tensor(int64_t c, int64_t h, int64_t w) {
    fc_tensor *t = fci_tensor_alloc(FC_SHAPE(c, h, w), FC_DTYPE_U8, FC_CPU);
    return t ? fc_keep(t) : NULL;
}

/* Interleaved [H, W, C] rows to planar [C, H, W]. */
static void hwc_to_chw(const unsigned char *src, unsigned char *dst, int64_t c, int64_t hw) {
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < hw; i++) dst[k * hw + i] = src[i * c + k];
}

/* ---- PNG ---- */

typedef struct png_src {
    const unsigned char *p;
    size_t n, pos;
    char msg[200];
} png_src;

static void png_on_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}
static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_read_mem(png_structp png, png_bytep out, size_t n) {
    png_src *s = png_get_io_ptr(png);
    if (n > s->n - s->pos) png_error(png, "truncated (file ends early)");
    memcpy(out, s->p + s->pos, n);
    s->pos += n;
}

static fc_tensor *decode_png(const char *path, const unsigned char *data, size_t n) {
    png_src src = {data, n, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    fc_tensor *volatile t = NULL;
    unsigned char *volatile hwc = NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        fc_fail(FC_ERR_NOMEM, "image_read: out of memory (libpng) for '%s'", path);
        return NULL;
    }
    if (setjmp(png_jmpbuf(png))) {
        fc_tensor_free(t);
        t = NULL;
        fc_fail(FC_ERR_FORMAT, "image_read: '%s': corrupt PNG: %s", path, src.msg);
        goto done;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    png_set_expand_gray_1_2_4_to_8(png);
    png_set_palette_to_rgb(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int c = png_get_channels(png, info);
    if (c != 1 && c != 3) {
        fc_fail(FC_ERR_FORMAT, "image_read: '%s': PNG colour type %d gives %d channels, expected 1 or 3",
                path, color, c);
        goto done;
    }
    t = image_tensor(c, h, w);
    rows = malloc(sizeof(png_bytep) * (h ? h : 1));
    if (c == 3) hwc = malloc((size_t)w * h * 3 + 1);
    if (!t || !rows || (c == 3 && !hwc)) {
        fc_fail(FC_ERR_NOMEM, "image_read: out of memory for '%s' (%u x %u x %d)", path, w, h, c);
        fc_tensor_free(t);
        t = NULL;
        goto done;
    }
    unsigned char *base = c == 3 ? hwc : fc_tensor_data(t);
    for (png_uint_32 y = 0; y < h; y++) rows[y] = base + (size_t)y * w * (size_t)c;
    png_read_image(png, rows);
    png_read_end(png, NULL); /* reaches IEND: a file cut after the pixels is still refused */
    if (c == 3) hwc_to_chw(hwc, fc_tensor_data(t), 3, (int64_t)w * h);
done:
    free(rows);
    free(hwc);
    png_destroy_read_struct(&png, &info, NULL);
    return t;
}

/* ---- JPEG ---- */

typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    e->mgr.format_message(cinfo, e->msg);
    longjmp(e->jmp, 1);
}

/* Warnings are silent, except the ones saying the data ended early: libjpeg would pad the image
 * with gray and carry on; a truncated file is an error here (as PIL's default). */
static void jpeg_on_message(j_common_ptr cinfo, int level) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (level < 0 && (e->mgr.msg_code == JWRN_JPEG_EOF || e->mgr.msg_code == JWRN_HIT_MARKER)) {
        e->mgr.format_message(cinfo, e->msg);
        longjmp(e->jmp, 1);
    }
}

static fc_tensor *decode_jpeg(const char *path, const unsigned char *data, size_t n) {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    fc_tensor *volatile t = NULL;
    unsigned char *volatile hwc = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    err.mgr.emit_message = jpeg_on_message;
    err.msg[0] = '\0';
    if (setjmp(err.jmp)) {
        fc_tensor_free(t);
        t = NULL;
        fc_fail(FC_ERR_FORMAT, "image_read: '%s': corrupt JPEG: %s", path, err.msg);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int64_t w = cinfo.output_width, h = cinfo.output_height, oc = cinfo.output_components;
    int64_t c = cmyk ? 3 : oc;
    t = image_tensor(c, h, w);
    hwc = malloc((size_t)(w * h * oc) + 1);
    if (!t || !hwc) {
        fc_fail(FC_ERR_NOMEM, "image_read: out of memory for '%s' (%lld x %lld x %lld)", path,
                (long long)w, (long long)h, (long long)oc);
        fc_tensor_free(t);
        t = NULL;
        goto done;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = hwc + (size_t)cinfo.output_scanline * (size_t)(w * oc);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    unsigned char *out = fc_tensor_data(t);
    if (cmyk) {
        /* Adobe CMYK JPEGs store inverted ink: r = c * k / 255 (as PIL and browsers convert). */
        int inverted = cinfo.saw_Adobe_marker;
        for (int64_t i = 0; i < w * h; i++) {
            unsigned char *p = hwc + 4 * i;
            int k = inverted ? p[3] : 255 - p[3];
            for (int ch = 0; ch < 3; ch++) {
                int v = inverted ? p[ch] : 255 - p[ch];
                out[ch * w * h + i] = (unsigned char)((v * k + 127) / 255);
            }
        }
    } else if (c == 1) {
        memcpy(out, hwc, (size_t)(w * h));
    } else {
        hwc_to_chw(hwc, out, 3, w * h);
    }
done:
    free(hwc);
    jpeg_destroy_decompress(&cinfo);
    return t;
}

fc_tensor *fc_image_read(const char *path) {
    if (!path) {
        fc_fail(FC_ERR_ARG, "image_read: expected a path, found NULL");
        return NULL;
    }
    unsigned char *data;
    size_t n;
    if (read_file(path, &data, &n) != FC_OK) return NULL;
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    fc_tensor *t = NULL;
    if (n >= 8 && !memcmp(data, png_sig, 8)) t = decode_png(path, data, n);
    else if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) t = decode_jpeg(path, data, n);
    else {
        char got[40] = "";
        for (size_t i = 0; i < n && i < 8; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), i ? " %02x" : "%02x", data[i]);
        if (n > 8) strcat(got, " ...");
        fc_fail(FC_ERR_FORMAT, "image_read: '%s' is not a PNG or JPEG (%zu bytes, starting %s)", path, n,
                n ? got : "with nothing: empty file");
    }
    free(data);
    return t;
}

/* ---- PNG writing ---- */

static void png_on_write_error(png_structp png, png_const_charp msg) {
    char *buf = png_get_error_ptr(png);
    snprintf(buf, 200, "%s", msg);
    png_longjmp(png, 1);
}

static fc_status write_png_file(FILE *f, const unsigned char *hwc, int64_t c, int64_t h, int64_t w,
                                const char *path) {
    char msg[200] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, png_on_write_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL;
    fc_status st = FC_OK;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        return fc_fail(FC_ERR_NOMEM, "image_write_png: out of memory (libpng)");
    }
    if (setjmp(png_jmpbuf(png))) {
        st = fc_fail(FC_ERR_IO, "image_write_png: cannot write '%s': %s", path, msg);
        goto done;
    }
    rows = malloc(sizeof(png_bytep) * (size_t)(h ? h : 1));
    if (!rows) {
        st = fc_fail(FC_ERR_NOMEM, "image_write_png: out of memory");
        goto done;
    }
    for (int64_t y = 0; y < h; y++) rows[y] = (png_bytep)(hwc + y * w * c);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
done:
    free(rows);
    png_destroy_write_struct(&png, &info);
    return st;
}

fc_status fc_image_write_png(const fc_tensor *img, const char *path) {
    if (!img || !path) return fc_fail(FC_ERR_ARG, "image_write_png: expected an image and a path, found NULL");
    if (fc_tensor_dtype(img) != FC_DTYPE_U8)
        return fc_fail(FC_ERR_DTYPE, "image_write_png: expected a u8 image, found %s",
                       fc_dtype_name(fc_tensor_dtype(img)));
    int nd = fc_tensor_ndim(img);
    const int64_t *d = fc_tensor_dims(img);
    int64_t c = nd == 3 ? d[0] : 1, h = d[nd - 2], w = d[nd - 1];
    if ((nd != 2 && nd != 3) || (c != 1 && c != 3) || h < 1 || w < 1 || h > 0x7fffffff || w > 0x7fffffff)
        return fc_fail(FC_ERR_SHAPE, "image_write_png: expected [C, H, W] with C = 1 or 3 (or [H, W]), found %s",
                       fci_tshape(img));
    size_t hw = (size_t)(h * w);
    unsigned char *chw = malloc(hw * (size_t)c), *hwc = malloc(hw * (size_t)c);
    char *tmp = malloc(strlen(path) + 16);
    fc_status st = FC_OK;
    FILE *f = NULL;
    if (!chw || !hwc || !tmp) {
        st = fc_fail(FC_ERR_NOMEM, "image_write_png: out of memory (%zu bytes)", 2 * hw * (size_t)c);
        goto done;
    }
    st = fc_tensor_copy_out(img, chw, FC_DTYPE_U8);
    if (st != FC_OK) goto done;
    for (int64_t k = 0; k < c; k++)
        for (size_t i = 0; i < hw; i++) hwc[i * (size_t)c + (size_t)k] = chw[(size_t)k * hw + i];
    sprintf(tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = fc_fail(FC_ERR_IO, "image_write_png: cannot create '%s': %s", tmp, strerror(errno));
        tmp[0] = '\0';
        goto done;
    }
    fchmod(fd, 0644);
    f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        st = fc_fail(FC_ERR_IO, "image_write_png: cannot write '%s': %s", tmp, strerror(errno));
        goto done;
    }
    st = write_png_file(f, hwc, c, h, w, path);
    if (st == FC_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        st = fc_fail(FC_ERR_IO, "image_write_png: cannot write '%s': %s", tmp, strerror(errno));
    if (fclose(f) != 0 && st == FC_OK)
        st = fc_fail(FC_ERR_IO, "image_write_png: cannot write '%s': %s", tmp, strerror(errno));
    if (st == FC_OK && rename(tmp, path) != 0)
        st = fc_fail(FC_ERR_IO, "image_write_png: cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
done:
    if (st != FC_OK && tmp && tmp[0]) remove(tmp);
    free(tmp);
    free(hwc);
    free(chw);
    return st;
}
