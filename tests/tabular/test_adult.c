/* ADULT_SAMPLE end to end (issue 6): fastai's tabular tutorial config trains to >= 0.83 accuracy in
 * three epochs of fit_one_cycle; predict on one raw row; test_dl on rows of the file. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_dir.h"
#include "fastc/tabular.h"
#include "fct.h"

static const char *adult_csv(char *buf, size_t n) {
    char data[1100];
    int found = test_data_dir("adult_sample.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return NULL;
    mkdir("tabular_data", 0777);
    const char *path = fc_untar_data("adult_sample", .data_dir = data, .dest = "tabular_data", .no_download = 1);
    FCT_NOTNULL(path);
    if (!path) return NULL;
    snprintf(buf, n, "%s/adult.csv", path);
    return buf;
}

#define ADULT_CAT FC_NAMES("workclass", "education", "marital-status", "occupation", "relationship", "race")
#define ADULT_CONT FC_NAMES("age", "fnlwgt", "education-num")

FCT_TEST(test_adult_sample_trains_to_083) {
    char csv[1200];
    if (!adult_csv(csv, sizeof csv)) return;
    fc_manual_seed(42);
    fc_dataloaders *dls = fc_tabular_dls_from_csv(csv, .y = "salary", .cat = ADULT_CAT, .cont = ADULT_CONT,
                                                  .valid_pct = 0.2, .seed = 42, .bs = 64);
    FCT_NOTNULL(dls);
    if (!dls) return;
    fc_tabular *t = fc_tabular_of_dls(dls);
    FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_VALID), 6512); /* int(0.2 * 32561) */
    FCT_EQ_INT(fc_tabular_n_cat(t), 7);                     /* + education-num_na */
    FCT_STR(fc_tabular_cat_name(t, 6), "education-num_na");
    FCT_OK(fc_tabular_show_batch(dls->train, stdout, 3));
    fc_learner *learn = fc_tabular_learner(dls, .metrics = FC_METRICS(fc_accuracy()), .quiet = 1);
    FCT_NOTNULL(learn);
    if (!learn) return;
    FCT_EQ_INT(fc_learner_n_groups(learn), 1);
    FCT_OK(fc_fit_one_cycle(learn, 3, 1e-2));
    double acc = fc_learner_monitor(learn, "accuracy");
    printf("adult_sample: accuracy %.4f, valid loss %.4f\n", acc, fc_learner_valid_loss(learn));
    FCT_TRUE(acc >= 0.83);

    /* predict on one raw row (the file's first: salary >=50k), a missing value among them */
    const char *names[] = {"age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
                           "occupation", "relationship", "race", "sex"};
    const char *values[] = {"49", " Private", "101320", " Assoc-acdm", "12.0", " Married-civ-spouse", "",
                            " Wife", " White", " Female"};
    fc_prediction pred;
    FCT_OK(fc_tabular_predict(learn, names, values, 10, &pred));
    FCT_TRUE(!strcmp(pred.label, ">=50k") || !strcmp(pred.label, "<50k"));
    FCT_TRUE(pred.index == 0 || pred.index == 1);
    FCT_EQ_INT(fc_tensor_numel(pred.probs), 2);
    if (pred.probs) {
        FCT_NEAR(fc_tensor_get(pred.probs, 0) + fc_tensor_get(pred.probs, 1), 1, 1e-5);
        FCT_TRUE(fc_tensor_get(pred.probs, pred.index) >= 0.5);
    }
    printf("predict row 1: %s (p = %.3f)\n", pred.label, pred.probs ? fc_tensor_get(pred.probs, pred.index) : 0);
    fc_prediction_free(&pred);
    FCT_EQ_INT(fc_tabular_predict(learn, names, values, 8, &pred), FC_ERR_ARG); /* no race */
    FCT_ERROR(FC_ERR_ARG, "the row has no column 'race'");
    values[0] = "forty";
    FCT_EQ_INT(fc_tabular_predict(learn, names, values, 10, &pred), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "column 'age': expected a number, found 'forty'");

    /* test_dl on the file itself (it has the target): same accuracy as the rows' own */
    fc_dataloader *dl = fc_tabular_test_dl(t, csv, 256);
    FCT_NOTNULL(dl);
    if (dl) {
        double loss, vals[1];
        FCT_OK(fc_learner_validate(learn, dl, &loss, vals));
        printf("test_dl over all rows: accuracy %.4f\n", vals[0]);
        FCT_TRUE(vals[0] >= 0.83);
    }
    fc_dataloader_free(dl);
    fc_learner_free(learn);
}
