SELECT
  CASE WHEN t."BEN_NIR_PSA" IS NULL THEN NULL ELSE sha256(getvariable('enclave_rekey_opad') || unhex(sha256(getvariable('enclave_rekey_ipad') || encode(CAST(t."BEN_NIR_PSA" AS VARCHAR))))) END AS "ben_nir_psa",
  t."BEN_SEX_COD" AS "ben_sex_cod"
FROM read_parquet(['/store/snds/v1/IR_BEN_R/year=0/IR_BEN_R.parquet'], encryption_config = {footer_key: 'k_src_snds'}) AS t
