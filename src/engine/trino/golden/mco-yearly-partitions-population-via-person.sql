CREATE TABLE "enclave"."ws_p_golden_63a4190829"."t_mcoaac" WITH (format = 'PARQUET') AS
WITH k AS (SELECT CAST(? AS VARBINARY) AS key)
SELECT
  CASE WHEN t."NIR_ANO_17" IS NULL THEN NULL ELSE lower(to_hex(hmac_sha256(to_utf8(CAST(t."NIR_ANO_17" AS VARCHAR)), k.key))) END AS "nir_ano_17",
  t."ENT_DAT" AS "ent_dat"
FROM "enclave"."ds_snds_v1"."t_mcoaac" AS t
CROSS JOIN k
WHERE t."year" BETWEEN 2020 AND 2021
  AND t."NIR_ANO_17" IN (
    SELECT s."BEN_NIR_PSA" FROM "enclave"."ds_snds_v1"."ir_ben_r" AS s
    WHERE s."BEN_NIR_PSA" IS NOT NULL
      AND (s."BEN_SEX_COD" IS NOT NULL AND s."BEN_SEX_COD" NOT IN (1, 9))
  )
  AND t."NIR_ANO_17" IN (
    SELECT s."BEN_NIR_PSA" FROM "enclave"."ds_snds_v1"."er_prs_f" AS s
    WHERE s."BEN_NIR_PSA" IS NOT NULL
      AND CAST(s."PRS_NAT_REF" AS VARCHAR) IN ('1111', '3317')
  )
