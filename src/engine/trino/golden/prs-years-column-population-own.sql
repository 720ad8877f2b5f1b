CREATE TABLE "enclave"."ws_p_golden_63a4190829"."er_prs_f" WITH (format = 'PARQUET') AS
WITH k AS (SELECT CAST(? AS VARBINARY) AS key)
SELECT
  CASE WHEN t."BEN_NIR_PSA" IS NULL THEN NULL ELSE lower(to_hex(hmac_sha256(to_utf8(CAST(t."BEN_NIR_PSA" AS VARCHAR)), k.key))) END AS "ben_nir_psa",
  t."EXE_SOI_DTD" AS "exe_soi_dtd",
  t."PRS_NAT_REF" AS "prs_nat_ref"
FROM "enclave"."ds_snds_v1"."er_prs_f" AS t
CROSS JOIN k
WHERE year(t."FLX_DIS_DTD") BETWEEN 2020 AND 2021
  AND t."BEN_SEX_COD" IN (2)
  AND CAST(t."BEN_NAI_ANN" AS VARCHAR) BETWEEN '1950' AND '1970'
