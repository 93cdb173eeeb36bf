"""Cross-unit collaboration claims (协作申报) and Team Contribution Award (团队贡献奖) points."""
