CREATE OR REPLACE TEMP TABLE __enclave_rekey AS
SELECT v, CASE WHEN v IS NULL THEN NULL ELSE sha256(getvariable('enclave_rekey_opad') || unhex(sha256(getvariable('enclave_rekey_ipad') || encode(CAST(v AS VARCHAR))))) END AS h
FROM (
  SELECT DISTINCT CAST("NIR_ANO_17" AS VARCHAR) AS v FROM read_parquet(['/store/snds/v1/T_MCOaaC/year=2020/T_MCO20C.parquet'], encryption_config = {footer_key: 'k_src_snds'})
) WHERE v IS NOT NULL;

SELECT
  rk0.h AS "nir_ano_17",
  t."ENT_DAT" AS "ent_dat"
FROM read_parquet(['/store/snds/v1/T_MCOaaC/year=2020/T_MCO20C.parquet'], encryption_config = {footer_key: 'k_src_snds'}) AS t
LEFT JOIN __enclave_rekey AS rk0 ON rk0.v = CAST(t."NIR_ANO_17" AS VARCHAR)
WHERE t."NIR_ANO_17" IN (
    SELECT s."BEN_NIR_PSA" FROM read_parquet(['/store/snds/v1/IR_BEN_R/year=0/IR_BEN_R.parquet'], encryption_config = {footer_key: 'k_src_snds'}) AS s
    WHERE s."BEN_NIR_PSA" IS NOT NULL
      AND (s."BEN_SEX_COD" IS NOT NULL AND s."BEN_SEX_COD" NOT IN (1, 9))
  )
  AND t."NIR_ANO_17" IN (
    SELECT s."BEN_NIR_PSA" FROM read_parquet(['/store/snds/v1/ER_PRS_F/year=2020/a.parquet'], encryption_config = {footer_key: 'k_src_snds'}) AS s
    WHERE s."BEN_NIR_PSA" IS NOT NULL
      AND s."PRS_NAT_REF" IN ('1111', '3317')
  );

DROP TABLE IF EXISTS __enclave_rekey;
