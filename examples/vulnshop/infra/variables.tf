variable "region" {
  description = "AWS region for the shop"
  default     = "eu-west-1"
}

variable "db_username" {
  default = "shopadmin"
}
