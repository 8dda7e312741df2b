/* CSVLogger: the header, one row per epoch equal to the recorder's values, and append. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tiny.h"

static int read_lines(const char *path, char lines[][256], int max) {
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && n < max && fgets(lines[n], 256, f)) n++;
    if (f) fclose(f);
    return n;
}

FCT_TEST(test_csv_logger_writes_header_and_rows) {
    const char *path = "test_cbs_history.csv";
    fc_learner *learn = tiny_learner(9, .metrics = FC_METRICS(fc_mae(), fc_r2_score()));
    FCT_OK(fc_learner_add_cb(learn, fc_csv_logger(.fname = path)));
    FCT_OK(fc_fit(learn, 3));
    char lines[16][256];
    FCT_EQ_INT(read_lines(path, lines, 16), 4);
    FCT_TRUE(!strcmp(lines[0], "epoch,train_loss,valid_loss,mae,r2_score,time\n"));
    const double *v = fc_recorder_values(learn);
    int n_cols = fc_recorder_n_cols(learn);
    FCT_EQ_INT(n_cols, 4);
    for (int e = 0; e < 3; e++) {
        int epoch;
        double tl, vl, mae, r2;
        char tm[16];
        FCT_EQ_INT(sscanf(lines[e + 1], "%d,%lf,%lf,%lf,%lf,%15s", &epoch, &tl, &vl, &mae, &r2, tm), 6);
        FCT_EQ_INT(epoch, e);
        double got[4] = {tl, vl, mae, r2};
        for (int c = 0; c < 4; c++) FCT_NEAR(got[c], v[e * n_cols + c], 1e-8 * fabs(v[e * n_cols + c]));
        FCT_TRUE(!strcmp(tm, "00:00")); /* fastai's format_time, mm:ss */
    }
    /* a second fit rewrites the file; with .append it continues it without a second header */
    FCT_OK(fc_learner_remove_cb(learn, "CSVLogger"));
    FCT_OK(fc_learner_add_cb(learn, fc_csv_logger(.fname = path, .append = 1)));
    FCT_OK(fc_fit(learn, 2));
    FCT_EQ_INT(read_lines(path, lines, 16), 6);
    FCT_TRUE(!strncmp(lines[4], "0,", 2) && !strncmp(lines[5], "1,", 2));
    FCT_OK(fc_learner_remove_cb(learn, "CSVLogger"));
    FCT_OK(fc_learner_add_cb(learn, fc_csv_logger(.fname = path)));
    FCT_OK(fc_fit(learn, 1));
    FCT_EQ_INT(read_lines(path, lines, 16), 2);
    fc_learner_free(learn);
    unlink(path);
}

FCT_TEST(test_csv_logger_reports_an_unwritable_file) {
    fc_learner *learn = tiny_learner(9);
    FCT_OK(fc_learner_add_cb(learn, fc_csv_logger(.fname = "no_such_dir/history.csv")));
    FCT_TRUE(fc_fit(learn, 1) == FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "CSVLogger: cannot open 'no_such_dir/history.csv': No such file or directory");
    fc_learner_free(learn);
}
