CREATE TABLE "enclave"."ws_p_golden_63a4190829"."ir_ben_r" WITH (format = 'PARQUET') AS
WITH k AS (SELECT CAST(? AS VARBINARY) AS key)
SELECT
  CASE WHEN t."BEN_NIR_PSA" IS NULL THEN NULL ELSE lower(to_hex(hmac_sha256(to_utf8(CAST(t."BEN_NIR_PSA" AS VARCHAR)), k.key))) END AS "ben_nir_psa",
  t."BEN_SEX_COD" AS "ben_sex_cod"
FROM "enclave"."ds_snds_v1"."ir_ben_r" AS t
CROSS JOIN k
