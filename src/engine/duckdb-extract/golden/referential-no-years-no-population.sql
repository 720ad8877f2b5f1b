CREATE OR REPLACE TEMP TABLE __enclave_rekey AS
SELECT v, CASE WHEN v IS NULL THEN NULL ELSE sha256(getvariable('enclave_rekey_opad') || unhex(sha256(getvariable('enclave_rekey_ipad') || encode(CAST(v AS VARCHAR))))) END AS h
FROM (
  SELECT DISTINCT CAST("BEN_NIR_PSA" AS VARCHAR) AS v FROM read_parquet(['/store/snds/v1/IR_BEN_R/year=0/IR_BEN_R.parquet'], encryption_config = {footer_key: 'k_src_snds'})
) WHERE v IS NOT NULL;

SELECT
  rk0.h AS "ben_nir_psa",
  t."BEN_SEX_COD" AS "ben_sex_cod"
FROM read_parquet(['/store/snds/v1/IR_BEN_R/year=0/IR_BEN_R.parquet'], encryption_config = {footer_key: 'k_src_snds'}) AS t
LEFT JOIN __enclave_rekey AS rk0 ON rk0.v = CAST(t."BEN_NIR_PSA" AS VARCHAR);

DROP TABLE IF EXISTS __enclave_rekey;
