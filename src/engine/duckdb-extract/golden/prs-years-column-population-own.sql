CREATE OR REPLACE TEMP TABLE __enclave_rekey AS
SELECT v, CASE WHEN v IS NULL THEN NULL ELSE sha256(getvariable('enclave_rekey_opad') || unhex(sha256(getvariable('enclave_rekey_ipad') || encode(CAST(v AS VARCHAR))))) END AS h
FROM (
  SELECT DISTINCT CAST("BEN_NIR_PSA" AS VARCHAR) AS v FROM read_parquet(['/store/snds/v1/ER_PRS_F/year=2020/a.parquet', '/store/it''s/year=2021/b.parquet'], encryption_config = {footer_key: 'k_src_snds'})
) WHERE v IS NOT NULL;

SELECT
  rk0.h AS "ben_nir_psa",
  t."EXE_SOI_DTD" AS "exe_soi_dtd",
  t."PRS_NAT_REF" AS "prs_nat_ref"
FROM read_parquet(['/store/snds/v1/ER_PRS_F/year=2020/a.parquet', '/store/it''s/year=2021/b.parquet'], encryption_config = {footer_key: 'k_src_snds'}) AS t
LEFT JOIN __enclave_rekey AS rk0 ON rk0.v = CAST(t."BEN_NIR_PSA" AS VARCHAR)
WHERE year(t."FLX_DIS_DTD") BETWEEN 2020 AND 2021
  AND t."BEN_SEX_COD" IN (2)
  AND t."BEN_NAI_ANN" BETWEEN '1950' AND '1970';

DROP TABLE IF EXISTS __enclave_rekey;
