CREATE TABLE "enclave"."ws_p_golden_63a4190829"."ir_ben_r" WITH (format = 'PARQUET') AS
SELECT
  t."BEN_SEX_COD" AS "ben_sex_cod"
FROM "enclave"."ds_snds_v1"."ir_ben_r" AS t
